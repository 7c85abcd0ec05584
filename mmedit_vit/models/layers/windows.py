"""Window partitioning of a token sequence ``[prefix tokens; H*W patch tokens]`` (ViTDet / SAM).

timm's ``window_partition`` / ``window_unpartition`` are reused; this module adds what a sequence with [CLS] /
register tokens in front needs: padding the patch grid to whole windows (prefix untouched), the mask of the
padded keys, the dense map of windowed attention for the probes, and the decomposed relative position bias
(timm's ``get_decomposed_rel_pos_bias`` with its index map built once on the device, not on the host per call).

Under ``torch.export`` (a dynamic ONNX export) the grid sizes are symbols: every shortcut taken when two sizes
are equal (no padding to add or crop, a table already of the right length) is taken only where ``same_size``
proves it, so the exported graph keeps the general path, which is exact at every size (a zero padding, a
resampling to the same length).
"""
from typing import Tuple

import torch
import torch.nn.functional as F
from timm.models.vision_transformer_sam import window_partition, window_unpartition
from torch.fx.experimental.symbolic_shapes import statically_known_true

from .constants import cached_constant

Grid = Tuple[int, int]


def same_size(*pairs: Tuple) -> bool:
    """Whether each pair of sizes is equal: plain ints are compared; symbolic sizes (torch.export) count as equal
    only where the tracer can prove it, without a guard that would fix the graph to the example's size; sizes
    that ``torch.jit.trace`` (mmengine's FLOP counter) records as tensors are compared as values."""
    return all(_known_equal(a, b) for a, b in pairs)


def _known_equal(a, b) -> bool:
    equal = a == b
    return bool(equal) if isinstance(equal, torch.Tensor) else statically_known_true(equal)


def padded_grid(grid: Grid, window_size: int) -> Grid:
    """The patch grid rounded up to whole windows (integer arithmetic: stays an integer expression when traced)."""
    return tuple((s + window_size - 1) // window_size * window_size for s in grid)


def pad_to_windows(x: torch.Tensor, grid: Grid, num_prefix_tokens: int, window_size: int) -> Tuple[torch.Tensor, Grid]:
    """Zero-pads the patch grid of ``x`` (B, P + H*W, C) at the bottom/right to whole windows."""
    padded = padded_grid(grid, window_size)
    if same_size(*zip(padded, grid)):
        return x, padded
    B, _, C = x.shape
    patches = x[:, num_prefix_tokens:].reshape(B, *grid, C)
    patches = F.pad(patches, (0, 0, 0, padded[1] - grid[1], 0, padded[0] - grid[0]))
    return torch.cat([x[:, :num_prefix_tokens], patches.flatten(1, 2)], dim=1), padded


def crop_windows_padding(x: torch.Tensor, padded: Grid, grid: Grid, num_prefix_tokens: int) -> torch.Tensor:
    """Inverse of ``pad_to_windows``: drops the padded patch tokens."""
    if same_size(*zip(padded, grid)):
        return x
    B, _, C = x.shape
    patches = x[:, num_prefix_tokens:].reshape(B, *padded, C)[:, :grid[0], :grid[1]]
    return torch.cat([x[:, :num_prefix_tokens], patches.flatten(1, 2)], dim=1)


def to_windows(t: torch.Tensor, grid: Grid, window_size: int) -> torch.Tensor:
    """(B, heads, H*W, d) over a grid of whole windows -> (B * windows, heads, window_size**2, d)."""
    B, heads, _, d = t.shape
    windows, _ = window_partition(t.transpose(1, 2).reshape(B, *grid, heads * d), window_size)
    return windows.reshape(-1, window_size * window_size, heads, d).transpose(1, 2)


def from_windows(windows: torch.Tensor, grid: Grid, window_size: int) -> torch.Tensor:
    """Inverse of ``to_windows``, in token-major layout: -> (B, H*W, heads, d)."""
    n, heads, _, d = windows.shape
    x = window_unpartition(windows.transpose(1, 2).reshape(n, window_size, window_size, heads * d), window_size,
                           tuple(grid))
    return x.reshape(x.shape[0], grid[0] * grid[1], heads, d)


def valid_keys(padded: Grid, grid: Grid, device: torch.device) -> torch.Tensor:
    """(Hp*Wp,) True for the real patch tokens of a padded grid, False for the padding."""
    rows = torch.arange(padded[0], device=device) < grid[0]
    cols = torch.arange(padded[1], device=device) < grid[1]
    return (rows[:, None] & cols[None, :]).flatten()


def window_valid_keys(padded: Grid, grid: Grid, window_size: int, device: torch.device) -> torch.Tensor:
    """(windows, window_size**2) True for the real patch tokens of each window."""
    valid = valid_keys(padded, grid, device).to(torch.uint8).view(1, 1, -1, 1)
    return to_windows(valid, padded, window_size)[:, 0, :, 0].bool()


def relative_index(q_size: int, k_size: int, device: torch.device) -> torch.Tensor:
    """(q_size, k_size) row of the relative position table for each query/key pair: ``q - k + k_size - 1``,
    with the shorter side's coordinates stretched to the longer one's (SAM / ViTDet, timm's ``get_rel_pos``).
    Equal sizes (self-attention) need no stretching: integer positions, so a traced size stays symbolic."""
    if same_size((q_size, k_size)):
        positions = torch.arange(q_size, device=device)
        return positions[:, None] - positions[None, :] + (k_size - 1)
    q_coords = torch.arange(q_size, dtype=torch.float32, device=device)[:, None] * max(k_size / q_size, 1.0)
    k_coords = torch.arange(k_size, dtype=torch.float32, device=device)[None, :] * max(q_size / k_size, 1.0)
    return ((q_coords - k_coords) + (k_size - 1) * max(q_size / k_size, 1.0)).long()


def relative_table(q_size: int, k_size: int, rel_pos: torch.Tensor) -> torch.Tensor:
    """(q_size, k_size, d) embeddings of ``rel_pos`` (L, d) for each query/key pair; the table is resampled
    linearly to ``2 * max(q_size, k_size) - 1`` rows when it has another length."""
    rows = 2 * (q_size if same_size((q_size, k_size)) else max(q_size, k_size)) - 1
    if not same_size((rel_pos.shape[0], rows)):
        rel_pos = F.interpolate(rel_pos.t().unsqueeze(0), size=rows, mode='linear')[0].t()
    index = cached_constant(('relative_index', q_size, k_size, rel_pos.device),
                            lambda: relative_index(q_size, k_size, rel_pos.device))
    return rel_pos[index]


def rel_pos_bias(q: torch.Tensor, rel_pos_h: torch.Tensor, rel_pos_w: torch.Tensor, grid: Grid) -> torch.Tensor:
    """Decomposed relative position bias (MViTv2, SAM, ViTDet) of queries (B, heads, H*W, d) over an H x W grid
    of keys: (B, heads, H*W, H*W), ``bias[(y, x), (y', x')] = q . R_h[y - y'] + q . R_w[x - x']``."""
    B, heads, n, d = q.shape
    h, w = grid
    r_q = q.reshape(B, heads, h, w, d)
    rel_h = torch.einsum('bnyxc,ykc->bnyxk', r_q, relative_table(h, h, rel_pos_h))
    rel_w = torch.einsum('bnyxc,xkc->bnyxk', r_q, relative_table(w, w, rel_pos_w))
    return (rel_h[..., :, None] + rel_w[..., None, :]).reshape(B, heads, n, n)


def dense_window_map(window_attn: torch.Tensor, prefix_attn: torch.Tensor, num_prefix_tokens: int,
                     padded: Grid, grid: Grid, window_size: int) -> torch.Tensor:
    """The (B, heads, N, N) attention map over the real tokens (N = P + H*W) of windowed attention.

    window_attn: (B * windows, heads, ws**2, K) probabilities of the patch queries, keys ``[prefix; window]``
    (K = P + ws**2) or the window alone (K = ws**2); prefix_attn: (B, heads, P, P + Hp*Wp) probabilities of the
    prefix queries. Pairs that cannot attend to each other get 0.
    """
    P, ws = num_prefix_tokens, window_size
    heads = window_attn.shape[1]
    n_pad = padded[0] * padded[1]
    # global key index of the j-th key of the window holding each query: (1, Hp*Wp, 1, ws**2)
    key_ids = to_windows(torch.arange(n_pad, device=window_attn.device).view(1, 1, n_pad, 1), padded, ws)
    key_ids = from_windows(key_ids.transpose(-2, -1).expand(-1, -1, ws * ws, -1), padded, ws)
    to_patches = from_windows(window_attn[..., -ws * ws:], padded, ws)  # (B, Hp*Wp, heads, ws**2)
    B = to_patches.shape[0]
    patch_rows = window_attn.new_zeros(B, n_pad, heads, n_pad).scatter_(
        -1, key_ids.expand(B, -1, heads, -1), to_patches)
    if window_attn.shape[-1] > ws * ws:
        to_prefix = from_windows(window_attn[..., :P], padded, ws)
    else:
        to_prefix = window_attn.new_zeros(B, n_pad, heads, P)
    patch_rows = torch.cat([to_prefix, patch_rows], dim=-1).transpose(1, 2)  # (B, heads, Hp*Wp, P + Hp*Wp)
    dense = torch.cat([prefix_attn, patch_rows], dim=2)
    keep = torch.cat([torch.ones(P, dtype=torch.bool, device=dense.device),
                      valid_keys(padded, grid, dense.device)])
    return dense[:, :, keep][..., keep]
