"""timm / DeiT / DeiT-III / AugReg / DINOv2-with-registers checkpoints -> PlainViT-family weights, strictly.

Layouts told apart from the tensors themselves:
- position embedding with a [CLS] (and register) slot (DeiT, AugReg ViT): the slot is a constant added to
  a constant token, so it is folded into ``cls_token`` / ``reg_token`` (the same function);
- position embedding over the patch grid only (DeiT-III, timm DINOv2 with registers, ours);
- a [CLS] for a model without one (ViTDet's backbone): ``cls_token`` and its position slot dropped, by name;
- a different grid: resampled bicubically with timm's ``resample_abs_pos_embed``;
- DeiT-III's own files (``gamma_1``/``gamma_2``) and checkpoints without LayerScale (gamma = 1);
- no relative position tables (a global-attention model): zero tables (the same function), each named;
  tables of another length (another ``img_size``): resampled linearly, as the attention does at run time.
Every key is used or reported; anything else is a ``CheckpointMismatchError`` naming the keys.
"""
import math
import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from timm.layers import resample_abs_pos_embed
from torch import nn

from .checkpoint_source import read_checkpoint

CLASSIFIER_PREFIXES = ('head.', 'head_dist.', 'fc_norm.')
TRAINING_ONLY_KEYS = ('mask_token',)
RENAMES = (('.gamma_1', '.ls1.gamma'), ('.gamma_2', '.ls2.gamma'))


class CheckpointMismatchError(RuntimeError):
    """A checkpoint does not fit the model: the message names the missing, extra or misshapen keys."""


@dataclass
class Conversion:
    state_dict: Dict[str, torch.Tensor]
    notes: List[str] = field(default_factory=list)


def _summary(keys: Sequence[str], limit: int = 8) -> str:
    keys = list(keys)
    shown = ', '.join(keys[:limit])
    return shown + (f', ... ({len(keys)} in all)' if len(keys) > limit else '')



def state_dict_mismatch(target: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor]) -> List[str]:
    """What keeps ``state`` from loading strictly into a model whose state dict is ``target``: missing and
    unexpected keys and shape mismatches, each summarised; empty when it fits."""
    missing = sorted(set(target) - set(state))
    unexpected = sorted(set(state) - set(target))
    misshapen = [f'{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(target[k].shape)}'
                 for k in target if k in state and hasattr(state[k], 'shape') and state[k].shape != target[k].shape]
    problems = []
    if missing:
        problems.append(f'missing in the checkpoint: {_summary(missing)}')
    if unexpected:
        problems.append(f'not in the model: {_summary(unexpected)}')
    if misshapen:
        problems.append(f'shape mismatch: {_summary(misshapen)}')
    return problems

def unwrap_state_dict(checkpoint: dict) -> Dict[str, torch.Tensor]:
    """The weights inside a checkpoint file: mmengine's 'state_dict', DeiT's 'model', or the dict itself."""
    if not isinstance(checkpoint, dict):
        raise CheckpointMismatchError(f'a checkpoint must be a dict of tensors, got {type(checkpoint).__name__}')
    for key in ('state_dict', 'model', 'module'):
        if isinstance(checkpoint.get(key), dict):
            checkpoint = checkpoint[key]
            break
    state = {k: v for k, v in checkpoint.items() if isinstance(v, torch.Tensor)}
    if not state:
        raise CheckpointMismatchError(
            f'no tensors found in the checkpoint (top-level keys: {_summary(sorted(checkpoint))})')
    if all(k.startswith('module.') for k in state):
        state = {k[len('module.'):]: v for k, v in state.items()}
    return state


def _is_square(n: int) -> bool:
    return n > 0 and math.isqrt(n) ** 2 == n


def drop_cls_token(state: Dict[str, torch.Tensor], target: Dict[str, torch.Tensor], notes: List[str]) -> None:
    """A model without [CLS] (``with_cls_token=False``, ViTDet's backbone) takes a checkpoint with one by
    dropping exactly two things, by name: ``cls_token`` and, where the position embedding has one, its [CLS]
    slot (detectron2's ViT drops the slot the same way, ``pretrain_use_cls_token``). Registers are kept."""
    if 'cls_token' not in state or 'cls_token' in target:
        return
    del state['cls_token']
    dropped = 'cls_token'
    pos = state.get('pos_embed')
    if pos is not None and pos.ndim == 3:
        num_reg = state['reg_token'].shape[1] if 'reg_token' in state else 0
        n = pos.shape[1]
        if not any(_is_square(k) for k in (n, n - num_reg)) and any(_is_square(k) for k in (n - 1, n - 1 - num_reg)):
            state['pos_embed'] = pos[:, 1:]  # [CLS] slot first, then any register slots, then the grid
            dropped += ' and its position-embedding slot (pos_embed[:, 0])'
    notes.append(f'dropped the [CLS] token: {dropped}; the model has no [CLS] in its sequence (with_cls_token='
                 'False, as ViTDet)')


def _convert_pos_embed(state: Dict[str, torch.Tensor], model: nn.Module, notes: List[str]) -> None:
    pos = state['pos_embed']
    num_pos = pos.shape[1]
    num_cls = 1 if 'cls_token' in state else 0
    num_reg = state['reg_token'].shape[1] if 'reg_token' in state else 0
    for slots in sorted({0, num_cls, num_cls + num_reg}):
        side = math.isqrt(num_pos - slots)
        if side * side == num_pos - slots:
            break
    else:
        raise CheckpointMismatchError(
            f'pos_embed has {num_pos} tokens: not a square patch grid, nor one plus {num_cls} [CLS] '
            f'and {num_reg} register slots')
    if slots:
        if 'cls_token' in state:  # (already dropped by drop_cls_token when the model has no [CLS])
            state['cls_token'] = state['cls_token'] + pos[:, :1]
        if slots > num_cls:
            state['reg_token'] = state['reg_token'] + pos[:, num_cls:slots]
        pos = pos[:, slots:]
        notes.append(f'position embedding had {slots} prefix slot(s) ([CLS]/registers): folded into the tokens')
    grid = tuple(model.pos_grid)
    if (side, side) != grid:
        pos = resample_abs_pos_embed(pos, new_size=list(grid), old_size=[side, side], num_prefix_tokens=0)
        notes.append(f'position embedding resampled from {side}x{side} to {grid[0]}x{grid[1]} (bicubic)')
    state['pos_embed'] = pos


def convert_vit_state_dict(
        state: Dict[str, torch.Tensor],
        model: nn.Module,
        prefix: Optional[str] = None,
        missing_ok: Iterable[str] = (),
) -> Conversion:
    """Maps ``state`` onto ``model.state_dict()`` keys; raises ``CheckpointMismatchError`` on any mismatch.

    Args:
        state: flat weights (timm, DeiT, DeiT-III, DINOv2-reg in timm format, or this project's).
        model: the target backbone (``PlainViT`` family).
        prefix: take only keys under this prefix (default: 'backbone.' when present, as in our
            classification, segmentation and detection checkpoints).
        missing_ok: regular expressions of model keys allowed to be absent from the checkpoint
            (e.g. 'attn.gate' to start a gated model from DeiT-III weights); they keep their
            initialisation and are reported.
    """
    notes: List[str] = []
    state = dict(state)
    if prefix is None and any(k.startswith('backbone.') for k in state):
        prefix = 'backbone.'
    if prefix:
        others = sorted(k for k in state if not k.startswith(prefix))
        state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if not state:
            raise CheckpointMismatchError(f'no checkpoint key starts with prefix {prefix!r}')
        if others:
            notes.append(f'took the {prefix!r} part; left out {len(others)} other keys ({_summary(others)})')

    renamed = {}
    for key, value in state.items():
        new_key = key
        for old, new in RENAMES:
            new_key = new_key.replace(old, new)
        renamed['reg_token' if new_key == 'register_tokens' else new_key] = value
    if set(renamed) != set(state):
        notes.append('renamed DeiT-III / DINOv2 keys (gamma_1/gamma_2 -> ls1/ls2.gamma, register_tokens -> reg_token)')
    state = renamed

    if 'dist_token' in state:
        raise CheckpointMismatchError('dist_token: distilled DeiT checkpoints put a distillation token in the '
                                      'sequence, which these backbones do not have')
    target = model.state_dict()
    unused = sorted(k for k in state if (k.startswith(CLASSIFIER_PREFIXES) or k in TRAINING_ONLY_KEYS)
                    and k not in target)
    if unused:
        notes.append(f'left out classifier / training-only keys that are not part of a backbone: {_summary(unused)}')
        for key in unused:
            del state[key]

    drop_cls_token(state, target, notes)
    if 'pos_embed' in state:
        _convert_pos_embed(state, model, notes)

    gammas = [k for k in target if k.endswith(('ls1.gamma', 'ls2.gamma'))]
    if gammas and not any(k in state for k in gammas):
        state.update({k: torch.ones_like(target[k]) for k in gammas})
        notes.append('checkpoint has no LayerScale: gamma set to 1 (the same function)')

    _convert_rel_pos(state, target, notes)

    patterns = [re.compile(p) for p in missing_ok]
    fresh = [k for k in target if k not in state and any(p.search(k) for p in patterns)]
    if fresh:
        state.update({k: target[k].clone() for k in fresh})
        notes.append(f'kept the initialisation of {len(fresh)} keys absent from the checkpoint (missing_ok): '
                     f'{_summary(fresh)}')

    problems = state_dict_mismatch(target, state)
    if problems:
        raise CheckpointMismatchError(
            f'checkpoint does not fit {type(model).__name__}: ' + '; '.join(problems)
            + '. Check arch / patch_size / num_registers / layer_scale_init / gate / cb_mode, '
            "or list new modules in init_cfg's missing_ok.")
    return Conversion({k: state[k].to(target[k].dtype) for k in target}, notes)


REL_POS_SUFFIXES = ('attn.rel_pos_h', 'attn.rel_pos_w')


def _convert_rel_pos(state: Dict[str, torch.Tensor], target: Dict[str, torch.Tensor], notes: List[str]) -> None:
    """Relative position tables for a model with ``rel_pos``.

    A checkpoint with none of them (a global-attention model) starts them at zero, as ViTDet does for MAE
    weights: a zero bias leaves the attention as it was; every table is named in the notes. A checkpoint with
    only some of them is a mismatch. Tables of another length (a model built for another ``img_size``) are
    resampled linearly, as ``get_rel_pos`` resamples them at run time.
    """
    tables = [k for k in target if k.endswith(REL_POS_SUFFIXES)]
    if not tables:
        return
    if not any(k in state for k in tables):
        state.update({k: torch.zeros_like(target[k]) for k in tables})
        notes.append(f'checkpoint has no relative position tables: {len(tables)} set to zero '
                     f'({_summary(tables, limit=len(tables))})')
        return
    resized = []
    for key in tables:
        table, shape = state.get(key), target[key].shape
        if table is not None and table.ndim == 2 and table.shape[1] == shape[1] and table.shape[0] != shape[0]:
            state[key] = F.interpolate(table.t()[None].float(), size=shape[0], mode='linear')[0].t().to(table.dtype)
            resized.append(f'{key} {table.shape[0]}->{shape[0]}')
    if resized:
        notes.append(f'relative position tables resampled (linear): {_summary(resized)}')


INIT_CFG_KEYS = ('checkpoint', 'prefix', 'missing_ok', 'map_location')


def load_pretrained(model: nn.Module, checkpoint: Optional[str] = None, prefix: Optional[str] = None,
                    missing_ok: Iterable[str] = (), **unknown) -> List[str]:
    """Loads a checkpoint into ``model`` strictly (``init_cfg=dict(type='Pretrained', ...)``).

    ``checkpoint`` is a local file or a hub name such as ``timm/deit3_small_patch16_224.fb_in1k``
    (see ``checkpoint_source``).

    Returns the conversion notes, which are also logged.
    """
    unknown.pop('map_location', None)  # always loaded on the CPU, then copied into the model
    if unknown:
        raise ValueError(f'unknown Pretrained init_cfg keys {sorted(unknown)}; allowed: {list(INIT_CFG_KEYS)}')
    if not checkpoint:
        raise ValueError("init_cfg type 'Pretrained' needs checkpoint=PATH or a hub name (timm/<model>.<tag>)")
    state = unwrap_state_dict(read_checkpoint(checkpoint))
    conversion = convert_vit_state_dict(state, model, prefix=prefix, missing_ok=missing_ok)
    model.load_state_dict(conversion.state_dict, strict=True)
    print_log(f'{type(model).__name__}: loaded {checkpoint} strictly'
              + ''.join(f'\n  - {note}' for note in conversion.notes), logger='current')
    return conversion.notes
