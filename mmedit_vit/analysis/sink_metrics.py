"""Attention-sink measurements as pure functions on tensors (one layer at a time).

Attention tensors are softmax probabilities shaped (B, heads, queries, keys); token tensors are
(B, N, d). Definitions follow the papers the project implements:

- [CLS] attention relative to the mean patch token: EDIT paper, Fig. 1 (attention allocated to [CLS]
  next to the mean attention directed to the other input tokens).
- attention entropy, mean and 15th percentile over heads and query tokens: CB paper, Fig. 4 (nats;
  uniform attention over N keys gives log N).
- relative attention distance: CB paper, Sec. 3.2, ``E_{i != j}(a_ij ||p_i - p_j||_1)`` over spatial
  tokens with normalised coordinates, self-interaction excluded.
- high-norm tokens: registers paper (Darcet et al.), tokens whose L2 norm exceeds 150.
- gate score and sparsity: gated attention proposal (average gate score).
- CB_s scale: CB paper, Fig. 8 (the average of Lambda and the ratio |lambda_0.1| / |lambda_0.9| of its
  10% and 90% quantiles).
"""
from typing import Dict, Optional, Tuple

import torch

# Darcet et al., "Vision Transformers Need Registers": tokens with a norm above 150 are high-norm.
REGISTERS_PAPER_NORM_THRESHOLD = 150.0
# A gate score below this counts as a closed (sparse) gate.
DEFAULT_GATE_THRESHOLD = 0.1
ENTROPY_PERCENTILE = 0.15


def _check_attention(attn: torch.Tensor) -> None:
    if attn.ndim != 4:
        raise ValueError(f'attention must be shaped (B, heads, queries, keys), got {tuple(attn.shape)}')


def attention_entropy(attn: torch.Tensor) -> torch.Tensor:
    """Entropy (nats) of every attention row: (B, heads, queries, keys) -> (B, heads, queries)."""
    _check_attention(attn)
    attn = attn.double()
    return -(attn * attn.clamp_min(1e-300).log()).sum(dim=-1)


def entropy_stats(attn: torch.Tensor, percentile: float = ENTROPY_PERCENTILE) -> Tuple[float, float]:
    """Mean and ``percentile`` quantile of the row entropies over batch, heads and queries."""
    ent = attention_entropy(attn).flatten()
    return ent.mean().item(), torch.quantile(ent, percentile).item()


def cls_attention_ratio(attn: torch.Tensor, cls_index: int = 0, patch_start: int = 1,
                        patch_end: Optional[int] = None) -> float:
    """Attention received by [CLS] divided by the mean attention received by one patch token.

    Both are averaged over batch, heads and every query (EDIT Fig. 1); uniform attention gives 1.
    Keys ``[patch_start, patch_end)`` are the patch tokens (registers sit between [CLS] and them;
    EDIT's decoder puts the previous [CLS] last, after the patches).
    """
    _check_attention(attn)
    n_keys = attn.shape[-1]
    patch_end = n_keys if patch_end is None else patch_end
    if not -n_keys <= cls_index < n_keys or not 0 <= patch_start < patch_end <= n_keys:
        raise ValueError(f'cls_index={cls_index}, patches [{patch_start}, {patch_end}) do not fit {n_keys} keys')
    attn = attn.double()
    return (attn[..., cls_index].mean() / attn[..., patch_start:patch_end].mean()).item()


def cls_attention_share(attn: torch.Tensor, cls_index: int = 0) -> float:
    """Fraction of every query's attention that goes to [CLS], averaged over batch, heads, queries."""
    _check_attention(attn)
    return attn[..., cls_index].double().mean().item()


def register_attention_share(attn: torch.Tensor, start: int, num_registers: int) -> float:
    """Fraction of every query's attention that goes to the register keys ``[start, start + K)``."""
    _check_attention(attn)
    if num_registers <= 0:
        raise ValueError(f'num_registers={num_registers} must be positive to measure a register share')
    return attn[..., start:start + num_registers].double().sum(-1).mean().item()


def grid_coordinates(grid: Tuple[int, int]) -> torch.Tensor:
    """(H*W, 2) row-major token coordinates normalised to [0, 1] along each axis."""
    h, w = grid
    rows = torch.arange(h, dtype=torch.float64) / max(h - 1, 1)
    cols = torch.arange(w, dtype=torch.float64) / max(w - 1, 1)
    return torch.cartesian_prod(rows, cols)


def relative_attention_distance(attn: torch.Tensor, grid: Tuple[int, int], patch_start: int = 0) -> float:
    """CB paper's relative distance: expected L1 distance to the attended spatial token, j != i.

    Only spatial (patch) queries and keys take part (from ``patch_start``); each query's weights over
    the other patch tokens are renormalised to sum to one (self-interaction excluded), the expected
    distance is taken under them and averaged over batch, heads and queries. Coordinates are
    normalised to [0, 1], so the distance lies in [0, 2].
    """
    _check_attention(attn)
    n = grid[0] * grid[1]
    spatial = attn[..., patch_start:, patch_start:].double()
    if spatial.shape[-1] != n or spatial.shape[-2] != n:
        raise ValueError(f'attention over {tuple(spatial.shape[-2:])} spatial tokens does not match grid {grid}')
    if n < 2:
        raise ValueError('relative distance needs at least two spatial tokens')
    coords = grid_coordinates(grid).to(spatial.device)
    dist = torch.cdist(coords, coords, p=1)  # zero on the diagonal
    others = spatial * (1 - torch.eye(n, dtype=spatial.dtype, device=spatial.device))
    mass = others.sum(-1)
    expected = (others * dist).sum(-1) / mass.clamp_min(1e-300)
    return expected[mass > 0].mean().item()


def token_norms(tokens: torch.Tensor) -> torch.Tensor:
    """L2 norm of every token: (B, N, d) -> (B, N)."""
    return tokens.float().norm(dim=-1)


def high_norm_count(norms: torch.Tensor, threshold: float = REGISTERS_PAPER_NORM_THRESHOLD) -> int:
    """Number of tokens whose norm exceeds ``threshold``."""
    return int((norms > threshold).sum())


def norm_summary(norms: torch.Tensor, threshold: float = REGISTERS_PAPER_NORM_THRESHOLD) -> Dict[str, float]:
    """Mean, median, 90th / 99th percentiles (linear interpolation), max of token norms, and the count and
    fraction of high-norm tokens."""
    flat = norms.flatten().double()
    count = high_norm_count(flat, threshold)
    p90, p99 = torch.quantile(flat, torch.tensor([0.9, 0.99], dtype=flat.dtype, device=flat.device)).tolist()
    return dict(norm_mean=flat.mean().item(), norm_median=flat.median().item(), norm_p90=p90, norm_p99=p99,
                norm_max=flat.max().item(), high_norm_count=count, high_norm_fraction=count / flat.numel())


def gate_stats(scores: torch.Tensor, threshold: float = DEFAULT_GATE_THRESHOLD) -> Tuple[float, float]:
    """Mean gate score and sparsity (fraction of scores below ``threshold``) over all gates."""
    scores = scores.double()
    return scores.mean().item(), (scores < threshold).double().mean().item()


def cbs_scale_stats(scale: torch.Tensor) -> Tuple[float, Optional[float]]:
    """Mean lambda and the CB paper's ratio |lambda_0.1| / |lambda_0.9| (its 10% and 90% quantiles;
    None when the 90% quantile is 0)."""
    values = scale.detach().double().flatten()
    q10, q90 = abs(torch.quantile(values, 0.1).item()), abs(torch.quantile(values, 0.9).item())
    return values.mean().item(), (q10 / q90 if q90 > 0 else None)
