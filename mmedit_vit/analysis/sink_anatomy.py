"""Per-head sink events and their two kinds (broadcast-like, NOP-like), as pure functions on tensors.

Definitions of Fesser et al. 2026, "A Unifying View of Attention Sinks" (code: KempnerInstitute/attention_sink,
``lejepa_sinks/diagnose.py`` and ``sink_table.py``), for one head with attention A (queries i, keys j; [CLS],
registers and patches all count as keys) and value vectors v (before the output projection):

- dominant column ``s = argmax_j mean_i A_ij``; ``mass = mean_i A_is``;
- ``routed_frac``: fraction of queries with ``A_is >= 0.5``; ``min_a = min_i A_is``;
- ``ratio_head = ||v_s|| / mean_{j != s} ||v_j||``;
- ``ratio_out``: the same ratio for ``u_j = ls * (W_O^h v_j)``, the head's slice of the output projection and
  LayerScale (no bias);
- ``stable_rank = ||U||_F^2 / ||U||_2^2`` of the head's update ``U = A u``, without an output gate.

Rules: relaxed, ``routed_frac >= 0.9``; Definition 1 at eps, ``min_a >= 1 - eps`` (eps <= 0.5: at most one key
can take >= 1 - eps of every query, the dominant column, so testing it alone is exact). An event is
broadcast-like when ``ratio_head >= 0.5``, NOP-like when ``ratio_head <= 0.2``; events in between count only in
the totals. Counts are summed over heads (and windows) and blocks 1..L-1, and averaged over images.
"""
from typing import Dict, Optional, Sequence

import numpy as np
import torch

STAT_KEYS = ('mass', 'routed_frac', 'min_a', 'ratio_head', 'ratio_out', 'stable_rank')
SINK_RULES = ('relaxed', 'eps')
RELAXED_FRACTION = 0.9
ROUTED_ATTENTION = 0.5
BROADCAST_RATIO = 0.5
NOP_RATIO = 0.2
# table columns: counts of events per image
COUNT_COLUMNS = ('total', 'broadcast', 'nop', 'on_cls', 'on_register', 'on_patch')


def dominant_column(attn: torch.Tensor) -> Dict[str, torch.Tensor]:
    """attn (..., queries, keys) -> ``sink_idx``, ``mass``, ``routed_frac``, ``min_a`` (...) and ``a_is``
    (..., queries), the attention every query gives to the dominant key."""
    if attn.ndim < 2:
        raise ValueError(f'attention must be shaped (..., queries, keys), got {tuple(attn.shape)}')
    mass, s = attn.mean(dim=-2).max(dim=-1)
    a_is = attn.gather(-1, s[..., None, None].expand(*s.shape, attn.shape[-2], 1)).squeeze(-1)
    return dict(sink_idx=s, mass=mass, routed_frac=(a_is >= ROUTED_ATTENTION).float().mean(-1),
                min_a=a_is.min(-1).values, a_is=a_is)


def norm_ratio(vectors: torch.Tensor, sink_idx: torch.Tensor) -> torch.Tensor:
    """vectors (..., keys, d), sink_idx (...) -> ``||x_s|| / mean_{j != s} ||x_j||`` (...)."""
    norms = vectors.norm(dim=-1)
    n = norms.shape[-1]
    if n < 2:
        raise ValueError('a value-norm ratio needs at least two keys')
    at_sink = norms.gather(-1, sink_idx[..., None]).squeeze(-1)
    other = torch.ones_like(norms, dtype=torch.bool).scatter_(-1, sink_idx[..., None], False)
    others = (norms * other).sum(-1) / (n - 1)
    return at_sink / others.clamp_min(1e-12)


def head_outputs(values: torch.Tensor, proj_weight: Optional[torch.Tensor] = None,
                 layer_scale: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Each head's values through its slice of the output projection and LayerScale:
    values (B, heads, N, head_dim), proj_weight (C, heads * head_dim) -> (B, heads, N, C).

    Without ``proj_weight`` (EDIT's decoder has none) the values come back unchanged (one head: C = head_dim)."""
    if proj_weight is None:
        out = values
    else:
        heads, head_dim = values.shape[1], values.shape[-1]
        w = proj_weight.reshape(proj_weight.shape[0], heads, head_dim)
        out = torch.einsum('bhnd,chd->bhnc', values, w)
    return out if layer_scale is None else out * layer_scale


def stable_rank(update: torch.Tensor) -> torch.Tensor:
    """``||U||_F^2 / ||U||_2^2`` of each matrix of ``update`` (..., rows, C): the eigenvalues of the smaller Gram
    matrix in float64 sum to the first and peak at the second (1 for a rank-one update; 0 for a zero update)."""
    u = update.double()
    gram = u @ u.transpose(-1, -2) if u.shape[-2] <= u.shape[-1] else u.transpose(-1, -2) @ u
    ev = torch.linalg.eigvalsh(gram).clamp_min(0)
    total, top = ev.sum(-1), ev[..., -1]
    return torch.where(top > 0, total / top.clamp_min(1e-300), torch.zeros_like(total)).float()


def head_statistics(attn: torch.Tensor, values: torch.Tensor, proj_weight: Optional[torch.Tensor] = None,
                    layer_scale: Optional[torch.Tensor] = None,
                    gate: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
    """Every per-head statistic of the module docstring, shaped (B, heads).

    attn: (B, heads, queries, keys); values: (B, heads, keys, head_dim); proj_weight / layer_scale: the block's
    output projection weight (C, C) and LayerScale (C,) (None: identity); gate: the gate scores (B, keys, heads,
    1 | head_dim) of the tokens, giving ``gate_sink``, their mean over the sink token's row.
    """
    if attn.ndim != 4 or values.ndim != 4 or values.shape[:3] != (attn.shape[0], attn.shape[1], attn.shape[3]):
        raise ValueError(f'attention {tuple(attn.shape)} and values {tuple(values.shape)} are not (B, heads, '
                         'queries, keys) and (B, heads, keys, head_dim)')
    attn, values = attn.float(), values.float()
    out = dominant_column(attn)
    s = out.pop('sink_idx')
    out.pop('a_is')
    u = head_outputs(values, proj_weight, layer_scale)
    out['ratio_head'] = norm_ratio(values, s)
    out['ratio_out'] = norm_ratio(u, s)
    out['stable_rank'] = stable_rank(attn @ u)
    out['sink_idx'] = s
    if gate is not None:
        scores = gate.float().mean(-1).transpose(1, 2)  # (B, heads, keys)
        out['gate_sink'] = scores.gather(-1, s[..., None]).squeeze(-1)
    return out


def sink_events(routed_frac: np.ndarray, min_a: np.ndarray, rule: str = 'relaxed', eps: Optional[float] = None,
                relaxed_fraction: float = RELAXED_FRACTION) -> np.ndarray:
    """Boolean array of sink events: relaxed (``routed_frac >= relaxed_fraction``) or Definition 1 at ``eps``
    (``min_a >= 1 - eps``). NaN entries (no head there) are never events."""
    if rule == 'relaxed':
        return np.asarray(routed_frac) >= relaxed_fraction
    if rule != 'eps':
        raise ValueError(f'sink rule {rule!r} is not known; choose one of {SINK_RULES}')
    if eps is None or not 0 < eps <= 0.5:
        raise ValueError(f'eps={eps!r} must lie in (0, 0.5]: above 0.5 a head can have several eps-sinks, but only '
                         'its dominant column is measured')
    return np.asarray(min_a) >= 1.0 - eps


def token_kind(sink_idx: np.ndarray, cls_index: Optional[int], register_start: int, num_registers: int,
               num_keys: int) -> Dict[str, np.ndarray]:
    """Where each sink sits: masks ``on_cls``, ``on_register``, ``on_patch``. ``cls_index``: the key index of
    [CLS] (-1: the last key, as in EDIT's decoder; None: no [CLS] key)."""
    idx = np.asarray(sink_idx)
    on_cls = np.zeros(idx.shape, bool) if cls_index is None else idx == cls_index % num_keys
    on_reg = (idx >= register_start) & (idx < register_start + num_registers)
    return dict(on_cls=on_cls, on_register=on_reg, on_patch=(idx >= 0) & ~on_cls & ~on_reg)


def count_events(events: np.ndarray, ratio_head: np.ndarray, kinds: Dict[str, np.ndarray],
                 include_block0: bool = False, broadcast_ratio: float = BROADCAST_RATIO,
                 nop_ratio: float = NOP_RATIO) -> Dict[str, float]:
    """Events per image by kind and sink position. Arrays are (images, blocks, ...): summed over every axis
    after the images (blocks 1.. unless ``include_block0``), then averaged over images."""
    e = np.array(events, dtype=bool)
    if not include_block0:
        e[:, 0] = False
    per_image = lambda mask: float(mask.reshape(mask.shape[0], -1).sum(1).mean())  # noqa: E731
    rh = np.asarray(ratio_head)  # NaN (no head there) is neither kind
    counts = dict(total=per_image(e), broadcast=per_image(e & (rh >= broadcast_ratio)),
                  nop=per_image(e & (rh <= nop_ratio)))
    counts.update({name: per_image(e & mask) for name, mask in kinds.items()})
    return counts


def per_block_counts(events: np.ndarray, ratio_head: np.ndarray, broadcast_ratio: float = BROADCAST_RATIO,
                     nop_ratio: float = NOP_RATIO) -> Dict[str, list]:
    """Events per image in each block (all blocks), by kind: ``total``, ``broadcast``, ``nop`` lists."""
    e = np.asarray(events, dtype=bool)
    rh = np.asarray(ratio_head)  # NaN (no head there) is neither kind
    per_block = lambda mask: mask.reshape(*mask.shape[:2], -1).sum(-1).mean(0).tolist()  # noqa: E731
    return dict(total=per_block(e), broadcast=per_block(e & (rh >= broadcast_ratio)),
                nop=per_block(e & (rh <= nop_ratio)))


def cell_kinds(events: np.ndarray, ratio_head: np.ndarray, broadcast_ratio: float = BROADCAST_RATIO,
               nop_ratio: float = NOP_RATIO) -> np.ndarray:
    """(blocks, heads) kind of each head over images and windows, the most frequent outcome of the
    (images, blocks, windows, heads) entries that exist: 0 no event, 1 broadcast-like, 2 NOP-like, 3 an event in
    between (the plots' colours)."""
    rh = np.asarray(ratio_head)
    present = ~np.isnan(rh)
    e = np.asarray(events, dtype=bool) & present
    outcomes = [present & ~e, e & (rh >= broadcast_ratio), e & (rh <= nop_ratio),
                e & (rh > nop_ratio) & (rh < broadcast_ratio)]
    tallies = np.stack([o.sum(axis=(0, 2)) for o in outcomes])  # (4, blocks, heads)
    return tallies.argmax(0)


def markdown_table(rows: Sequence[dict], digits: int = 2) -> str:
    """One line per model (``rows``: dicts with ``model``, ``rule``, ``images`` and the ``COUNT_COLUMNS``;
    a register column of a model without registers holds None and prints as a dash)."""
    header = ('| model | rule | images | total | broadcast | NOP | on [CLS] | on a register | on a patch |\n'
              '|---|---|---|---|---|---|---|---|---|')
    fmt = lambda v: '-' if v is None else f'{v:.{digits}f}'  # noqa: E731
    lines = [f"| {r['model']} | {r['rule']} | {r['images']} | " + ' | '.join(fmt(r[c]) for c in COUNT_COLUMNS) + ' |'
             for r in rows]
    return '\n'.join([header] + lines)
