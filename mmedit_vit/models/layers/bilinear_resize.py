"""Bilinear resizing as two matrix products: ``F.interpolate(x, size, mode='bilinear')`` without its backward.

Bilinear interpolation is separable and linear, so ``y = R_h @ x @ R_w^T`` with ``R`` the (out, in)
interpolation matrices, two taps per row. The values are ``F.interpolate``'s; the difference is the backward:
``F.interpolate``'s CUDA backward scatters every output gradient into its 4 source pixels with atomic adds,
which serialises badly when one source pixel feeds hundreds of outputs (a Segmenter's 32x32 logits brought to
the 512x512 label: 256 outputs per source, 150 classes, every step). Here the backward is two GEMMs.
"""
from functools import partial
from typing import Sequence

import torch

from .constants import cached_constant


def interpolation_matrix(in_size: int, out_size: int, align_corners: bool, device: torch.device,
                         dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(out_size, in_size) matrix of 1-D linear interpolation, with PyTorch's source-index rule.

    ``align_corners=False``: source = (dst + 0.5) * in / out - 0.5, clamped at 0 (half-pixel centres);
    ``align_corners=True``: source = dst * (in - 1) / (out - 1). Both taps fall on the last pixel at the edge.
    Source positions are computed in float32 (float64 for float64), as PyTorch's kernels do.
    """
    dst = torch.arange(out_size, device=device, dtype=torch.float64 if dtype == torch.float64 else torch.float32)
    if align_corners:
        src = dst * ((in_size - 1) / (out_size - 1) if out_size > 1 else 0.0)
    else:
        src = ((dst + 0.5) * (in_size / out_size) - 0.5).clamp(min=0)
    left = src.floor().long().clamp(max=in_size - 1)
    right = (left + 1).clamp(max=in_size - 1)
    weight_right = (src - left).unsqueeze(1)
    columns = torch.arange(in_size, device=device)  # one-hot rows by comparison: F.one_hot reads its range back
    matrix = (columns == left.unsqueeze(1)) * (1 - weight_right) + (columns == right.unsqueeze(1)) * weight_right
    return matrix.to(dtype)


def bilinear_resize(x: torch.Tensor, size: Sequence[int], align_corners: bool = False) -> torch.Tensor:
    """``F.interpolate(x, size, mode='bilinear', align_corners=align_corners)`` for (..., H, W) inputs, as GEMMs.

    Runs with autocast off in float32 (float64 for float64 inputs): half and bfloat16 inputs give a float32
    result, the interpolation of their values without a rounding back (a loss upcasts it anyway); with
    ``torch.backends.cuda.matmul.allow_tf32`` set, the GEMMs round as TF32. The large product, the one writing
    the output, is one contiguous GEMM; the small one runs on the input side.
    """
    out_h, out_w = (int(s) for s in size)
    in_h, in_w = x.shape[-2:]
    if x.dtype != torch.float64:
        x = x.float()
    if (out_h, out_w) == (in_h, in_w):
        return x
    with torch.autocast(device_type=x.device.type, enabled=False):
        rows, cols = (cached_constant(('interpolation_matrix', n_in, n_out, align_corners, x.device, x.dtype),
                                      partial(interpolation_matrix, n_in, n_out, align_corners, x.device, x.dtype))
                      for n_in, n_out in ((in_h, out_h), (in_w, out_w)))
        tall = (x.transpose(-1, -2) @ rows.t()).transpose(-1, -2).contiguous()  # (..., out_h, in_w)
        return tall @ cols.t()  # (..., out_h, out_w), contiguous
