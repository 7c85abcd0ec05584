"""Attention sinks per window of a windowed backbone (ViTDet): does every window grow its own sink?

Attention tensors are the probes' dense (B, heads, N, N) maps, prefix tokens ([CLS], registers) first;
the patch grid is split into window_size x window_size windows from the top left, as the backbone splits
it (border windows hold only their real tokens). For every (image, window) pair:

- received attention of a patch token: the attention it receives from the patch queries of its own
  window, averaged over heads and those queries (so the window's tokens share at most 1);
- top token: the window's patch token with the most received attention;
- a top token is high-norm when the L2 norm of the token the block attends with (its input) exceeds the
  threshold (the registers paper's 150 by default);
- the prefix is the window's sink when the attention its queries give to the prefix tokens exceeds what
  they give to the top token.
"""
from typing import Dict, Tuple

import torch

from .sink_metrics import REGISTERS_PAPER_NORM_THRESHOLD


def window_ids(grid: Tuple[int, int], window_size: int) -> torch.Tensor:
    """(H*W,) index of the window holding each patch token (row-major windows, row-major tokens)."""
    if window_size < 1:
        raise ValueError(f'window_size={window_size} must be a positive integer')
    h, w = grid
    rows = torch.arange(h) // window_size
    cols = torch.arange(w) // window_size
    return (rows[:, None] * -(-w // window_size) + cols[None, :]).flatten()


def _patch_queries_by_window(attn: torch.Tensor, grid: Tuple[int, int], window_size: int, patch_start: int):
    n = grid[0] * grid[1]
    if attn.ndim != 4 or attn.shape[-1] != attn.shape[-2] or attn.shape[-1] != patch_start + n:
        raise ValueError(f'attention {tuple(attn.shape)} is not (B, heads, N, N) with N = {patch_start} prefix '
                         f'tokens + {grid[0]}x{grid[1]} patches')
    ids = window_ids(grid, window_size).to(attn.device)
    same = (ids[:, None] == ids[None, :]).double()  # (queries, keys)
    per_window = same.sum(-1)  # queries in each token's window
    return attn.double().mean(1), ids, same, per_window


def received_in_window(attn: torch.Tensor, grid: Tuple[int, int], window_size: int,
                       patch_start: int = 0) -> torch.Tensor:
    """(B, H*W) attention each patch token receives from the patch queries of its own window (mean over
    heads and those queries)."""
    mean, _, same, per_window = _patch_queries_by_window(attn, grid, window_size, patch_start)
    patches = mean[:, patch_start:, patch_start:]
    return (patches * same).sum(1) / per_window


def window_sink_stats(attn: torch.Tensor, key_norms: torch.Tensor, grid: Tuple[int, int], window_size: int,
                      patch_start: int = 0,
                      norm_threshold: float = REGISTERS_PAPER_NORM_THRESHOLD) -> Dict[str, float]:
    """Per-window sink measures of one block (see the module docstring), as fractions over (image, window):

    window_top_high_norm: the window's top token is high-norm;
    window_high_norm: the window holds at least one high-norm patch token;
    window_top_share: attention its queries give to the top token (mean; 1 / tokens if uniform);
    window_prefix_sink: the prefix tokens receive more of the window's attention than its top token
    (0 without prefix tokens).

    key_norms: (B, N) norms of the block's input tokens, prefix first.
    """
    received = received_in_window(attn, grid, window_size, patch_start)  # (B, n); checks the shapes
    prefix = attn.double().mean(1)[:, patch_start:, :patch_start].sum(-1)  # (B, n): per patch query
    ids = window_ids(grid, window_size).to(attn.device)
    high = key_norms[:, patch_start:].double() > norm_threshold
    tops, top_high, any_high, prefix_sink = [], [], [], []
    for w in ids.unique():
        members = (ids == w).nonzero().flatten()
        share, arg = received[:, members].max(dim=1)
        tops.append(share)
        top_high.append(high[:, members].gather(1, arg[:, None])[:, 0])
        any_high.append(high[:, members].any(1))
        prefix_sink.append(prefix[:, members].mean(1) > share)
    frac = lambda xs: torch.stack(xs).double().mean().item()  # noqa: E731
    return dict(window_top_high_norm=frac(top_high), window_high_norm=frac(any_high),
                window_top_share=frac(tops), window_prefix_sink=frac(prefix_sink))
