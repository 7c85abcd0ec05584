"""Per-head sink statistics of a probed backbone, and the check that the captured internals are the model's.

``capture_backbone(backbone, images, internals=True)`` keeps, from the model's own probes and hooks, every
block's input, output, attention probabilities, values (as the heads mix them) and gate scores. From them:

- ``anatomy``: the ``sink_anatomy`` statistics of every (image, block, window, head), numpy arrays shaped
  (images, blocks, windows, heads); ``windows`` is 1 without windowed attention. A windowed block is measured
  per window (its patch queries; keys the tokens they see: the window's patches, and [CLS] / registers when
  they are keys of every window); a global block fills window 0 and leaves the others NaN (``sink_idx`` -1), as
  does a border window of a single token without prefix keys (its one key takes all attention by construction).
  EDIT's decoder gets ``decoder_*`` arrays (images, blocks, 1, 1): one query, keys the block's tokens then the
  previous [CLS]. Sink indices count the block's token sequence.
- the rebuild check: every block's output recomputed from the captured A, V, output projection, LayerScale,
  gate and MLP (and each EDIT decoder step from its A and values), compared with the model's own forward of the
  same block input with the probes off (the fused attention kernel; EDIT's fused [CLS] chain), as the reference
  compares with ``blk(x)``: ``||rebuilt - model|| / ||model||`` per block, 1e-7 to 1e-6 in float32.
"""
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
from timm.layers import LayerScale
from torch import nn

from ..models.layers.windows import crop_windows_padding, padded_grid
from .probes import BackboneCapture
from .sink_anatomy import head_statistics
from .window_sinks import window_ids

ARRAY_KEYS = ('sink_idx', 'mass', 'routed_frac', 'min_a', 'ratio_head', 'ratio_out', 'stable_rank', 'gate_sink')


def layer_scale(module: nn.Module) -> Optional[torch.Tensor]:
    """The LayerScale vector, or None for an identity (a model without LayerScale)."""
    if isinstance(module, LayerScale):
        return module.gamma
    if isinstance(module, nn.Identity):
        return None
    raise TypeError(f'{type(module).__name__} is neither timm LayerScale nor Identity; the per-head outputs '
                    'need the LayerScale vector')


def _real_tokens(t: torch.Tensor, n: int, grid: Tuple[int, int], window_size: int, prefix: int) -> torch.Tensor:
    """Crops the padding of a windowed block from (B, N', ...) token-major tensors."""
    if t.shape[1] == n:
        return t
    flat = crop_windows_padding(t.flatten(2), padded_grid(grid, window_size), grid, prefix)
    return flat.reshape(t.shape[0], n, *t.shape[2:])


def block_tensors(cap: BackboneCapture, block: nn.Module, index: int):
    """The attention (B, H, N, N), values (B, H, N, hd) and gate scores (B, N, H, g) or None of one block,
    over its real tokens."""
    attn = cap.attentions[index]
    n = attn.shape[-1]
    ws = block.attn.window_size
    values = _real_tokens(cap.internals['values'][index].transpose(1, 2), n, cap.grid, ws,
                          cap.num_prefix_tokens).transpose(1, 2)
    gate = cap.gates[index]
    if gate is not None:
        gate = _real_tokens(gate, n, cap.grid, ws, cap.num_prefix_tokens)
    return attn, values, gate


def rebuild_block(block: nn.Module, x: torch.Tensor, attn: torch.Tensor, values: torch.Tensor,
                  gate: Optional[torch.Tensor]) -> torch.Tensor:
    """The block's output from explicit internals: x + LS1(proj(gate * (A V))), then the MLP residual."""
    mod = block.attn
    B, N, C = x.shape
    o = (attn @ values).transpose(1, 2)  # (B, N, heads, head_dim)
    if gate is not None and mod.gate_position == 'sdpa':
        o = o * gate  # a value gate is inside the captured values already
    x1 = x + block.ls1(mod.proj(mod.norm(o.reshape(B, N, C))))
    return x1 + block.ls2(block.mlp(block.norm2(x1)))


def relative_error(rebuilt: torch.Tensor, reference: torch.Tensor) -> float:
    return ((rebuilt - reference).double().norm() / reference.double().norm().clamp_min(1e-300)).item()


def _window_queries(cap: BackboneCapture, block: nn.Module) -> List[Tuple[torch.Tensor, torch.Tensor]]:
    """(query indices, key indices) of every window of a windowed block, in the block's token order."""
    P = cap.num_prefix_tokens
    ids = window_ids(cap.grid, block.attn.window_size)
    prefix_keys = P and block.attn.prefix_in_windows == 'every_window'
    out = []
    for w in ids.unique():
        members = (ids == w).nonzero().flatten() + P
        keys = torch.cat([torch.arange(P), members]) if prefix_keys else members
        out.append((members, keys))
    return out


def _block_statistics(cap: BackboneCapture, block: nn.Module, index: int) -> List[Optional[Dict[str, torch.Tensor]]]:
    """Per-head statistics of one block: one dict of (B, heads) tensors per window (one for a global block);
    None for a window with a single key."""
    attn, values, gate = block_tensors(cap, block, index)
    proj = block.attn.proj.weight
    ls = layer_scale(block.ls1)
    if not block.attn.window_size:
        return [head_statistics(attn, values, proj, ls, gate)]
    stats = []
    for queries, keys in _window_queries(cap, block):
        if len(keys) < 2:  # a border window of one token with no prefix keys: no choice, no measure
            stats.append(None)
            continue
        a = attn[:, :, queries][..., keys]
        s = head_statistics(a, values[:, :, keys], proj, ls, None if gate is None else gate[:, keys])
        s['sink_idx'] = keys.to(s['sink_idx'].device)[s['sink_idx']]
        stats.append(s)
    return stats


def _stack(per_block: List[List[Optional[Dict[str, torch.Tensor]]]]) -> Dict[str, np.ndarray]:
    """(images, blocks, windows, heads) arrays; missing windows NaN (``sink_idx``: -1)."""
    windows = max(len(b) for b in per_block)
    measured = [w for b in per_block for w in b if w is not None]
    B, H = measured[0]['mass'].shape
    keys = [k for k in ARRAY_KEYS if any(k in w for w in measured)]
    out = {k: np.full((B, len(per_block), windows, H), -1 if k == 'sink_idx' else np.nan,
                      dtype=np.int64 if k == 'sink_idx' else np.float32) for k in keys}
    for i, block in enumerate(per_block):
        for w, stats in enumerate(block):
            for k, v in (stats or {}).items():
                out[k][:, i, w] = v.cpu().numpy()
    return out


def _check_supported(backbone: nn.Module) -> None:
    for i, block in enumerate(backbone.blocks):
        if not isinstance(block.attn.norm, nn.Identity):
            raise ValueError(f'block {i} normalises the attention output (scale_norm): a head has no output slice '
                             'of its own there, so ratio_out and the stable rank are undefined')


def anatomy(backbone: nn.Module, cap: BackboneCapture) -> dict:
    """Per-head arrays and rebuild errors of the probed ``backbone`` (see the module docstring).

    Returns ``arrays`` (name -> (images, blocks, windows, heads)), ``rebuild_error`` (per block), the key layout
    (``cls_index``: 0, or None when [CLS] is not in the sequence; ``register_start``; ``num_registers``;
    ``num_keys``) and, for EDIT, ``decoder_arrays`` (images, blocks, 1, 1) and ``decoder_rebuild_error``.
    """
    if cap.internals is None:
        raise ValueError('the capture holds no internals: call capture_backbone(..., internals=True)')
    _check_supported(backbone)
    was_training = backbone.training
    backbone.eval()
    per_block, errors = [], []
    try:
        with torch.no_grad():
            for i, block in enumerate(backbone.blocks):
                per_block.append(_block_statistics(cap, block, i))
                attn, values, gate = block_tensors(cap, block, i)
                x = cap.internals['inputs'][i]
                rebuilt = rebuild_block(block, x, attn, values, gate)
                errors.append(relative_error(rebuilt, block(x, grid=cap.grid, num_prefix_tokens=cap.num_prefix_tokens)))
            result = dict(arrays=_stack(per_block), rebuild_error=errors,
                          cls_index=0 if cap.cls_in_sequence else None, register_start=cap.register_start,
                          num_registers=cap.num_registers, num_keys=cap.attentions[0].shape[-1])
            if cap.decoder:
                result.update(_decoder_anatomy(backbone.decoder, cap))
    finally:
        backbone.train(was_training)
    return result


def _decoder_anatomy(decoder: nn.Module, cap: BackboneCapture) -> dict:
    """EDIT's decoder: one head, one query ([CLS]); keys the block's tokens, then the previous [CLS]."""
    per_block, errors = [], []
    previous = cap.internals['decoder_input']
    # the model's own decoder on the captured block outputs, maps off: the fused [CLS] chain where it applies
    reference = decoder(previous, cap.internals['outputs'])
    for attn, values, out in zip(cap.decoder, cap.internals['decoder_values'], reference):
        per_block.append([head_statistics(attn[:, None], values[:, None])])
        rebuilt = decoder.norm(previous + attn @ values)
        errors.append(relative_error(rebuilt, out))
        previous = out
    return dict(decoder_arrays=_stack(per_block), decoder_rebuild_error=errors)
