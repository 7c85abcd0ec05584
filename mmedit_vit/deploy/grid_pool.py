"""Adaptive pooling to a fixed grid with its bins computed inside the graph, for a dynamic ONNX export.

torch.onnx records ``nn.AdaptiveAvgPool2d`` / ``nn.AdaptiveMaxPool2d`` to a grid other than 1x1 (UperNet's pyramid
pooling: 2x2, 3x3, 6x6) with the bins of the example's size, wrong at any other size. ``GridPool2d`` computes the
same bins as PyTorch from the input size (bin ``i`` of ``s`` over a side of length ``L`` is
``[floor(i L / s), ceil((i + 1) L / s))``) with integer tensor arithmetic that the exporter keeps symbolic, and
pools through bin-membership masks. ``with_graph_pooling`` swaps it into a copy of the model at export time only;
training and eager inference keep the original modules.
"""
import copy
from typing import List, Optional, Sequence, Tuple, Union

import torch
from torch import nn

POOLINGS = (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
REDUCTIONS = ('mean', 'max')


def bin_membership(length: int, bins: int, device: torch.device) -> torch.Tensor:
    """(bins, length) True where position ``p`` lies in bin ``i``: ``floor(i L / s) <= p < ceil((i + 1) L / s)``,
    PyTorch's adaptive pooling bins (overlapping where ``L`` is not a multiple of ``s``)."""
    index = torch.arange(bins, device=device)
    start = index * length // bins
    end = ((index + 1) * length + bins - 1) // bins
    position = torch.arange(length, device=device)
    return (position >= start[:, None]) & (position < end[:, None])


class GridPool2d(nn.Module):
    """Adaptive pooling of (B, C, H, W) to ``output_size`` (an int or (h, w); None keeps that side) by bin
    membership: the mean as the masked sum divided by the bin's size, the max over the masked positions."""

    def __init__(self, output_size: Union[int, Sequence[Optional[int]]], reduce: str = 'mean') -> None:
        super().__init__()
        if reduce not in REDUCTIONS:
            raise ValueError(f'reduce={reduce!r} is not supported; choose one of {REDUCTIONS}')
        size = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size, output_size)
        if len(size) != 2 or any(s is not None and (not isinstance(s, int) or s < 1) for s in size):
            raise ValueError(f'output_size={output_size!r} must be a positive int or a pair of them (None: keep)')
        self.output_size: Tuple[Optional[int], Optional[int]] = size
        self.reduce = reduce

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        H, W = x.shape[-2:]
        rows = bin_membership(H, self.output_size[0] or H, x.device)
        cols = bin_membership(W, self.output_size[1] or W, x.device)
        if self.reduce == 'mean':
            sums = torch.einsum('ih,bchw,jw->bcij', rows.to(x.dtype), x, cols.to(x.dtype))
            counts = rows.sum(1)[:, None] * cols.sum(1)[None, :]
            return sums / counts.to(x.dtype)
        lowest = torch.finfo(x.dtype).min
        x = x.unsqueeze(-1).masked_fill(~cols.t(), lowest).amax(-2)  # (B, C, H, w)
        return x.unsqueeze(-2).masked_fill(~rows.t()[:, :, None], lowest).amax(-3)  # (B, C, h, w)

    def extra_repr(self) -> str:
        return f'output_size={self.output_size}, reduce={self.reduce!r}'


def pooling_modules(model: nn.Module) -> List[str]:
    """Names of the adaptive poolings to a grid other than 1x1 (a 1x1 one exports as a global reduction)."""
    def to_grid(m: nn.Module) -> bool:
        size = m.output_size if isinstance(m.output_size, (tuple, list)) else (m.output_size,)
        return any(s != 1 for s in size)
    return [name for name, m in model.named_modules() if isinstance(m, POOLINGS) and to_grid(m)]


def with_graph_pooling(model: nn.Module) -> nn.Module:
    """``model`` itself when it has no adaptive pooling to a grid, else a copy with each replaced by the
    equivalent ``GridPool2d`` (the same parameters and buffers: the poolings have none)."""
    names = pooling_modules(model)
    if not names:
        return model
    model = copy.deepcopy(model)
    for name in names:
        parent, _, attr = name.rpartition('.')
        old = model.get_submodule(name)
        reduce = 'max' if isinstance(old, nn.AdaptiveMaxPool2d) else 'mean'
        setattr(model.get_submodule(parent), attr, GridPool2d(old.output_size, reduce))
    return model
