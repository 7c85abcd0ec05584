"""Where a checkpoint comes from: a local file, or a hub name resolved the way timm resolves it.

``timm/<model>.<tag>`` (e.g. ``timm/deit3_small_patch16_224.fb_in1k``; ``timm/<model>`` takes timm's default
tag) names timm's pretrained weights; ``hf-hub:<org>/<repo>[@<revision>]`` any Hugging Face repository in
timm's format. Files come through ``huggingface_hub`` and its local cache (``HF_HOME``), so
``HF_HUB_OFFLINE=1`` works with a filled cache. A local file of the same name takes precedence.
"""
import difflib
import os
from typing import Any, Dict

import torch

from mmedit_vit.utils import load_checkpoint_file

TIMM_PREFIX = 'timm/'
HF_HUB_PREFIX = 'hf-hub:'


def is_hub_name(source: str) -> bool:
    """True for ``timm/...`` and ``hf-hub:...`` names that are not local files."""
    return isinstance(source, str) and source.startswith((TIMM_PREFIX, HF_HUB_PREFIX)) \
        and not os.path.exists(source)


def _timm_pretrained_cfg(source: str):
    """timm's pretrained config for ``timm/<model>[.<tag>]``; an unknown name is a ValueError listing close ones."""
    import timm
    from timm.models import get_pretrained_cfg
    name = source[len(TIMM_PREFIX):]
    try:
        cfg = get_pretrained_cfg(name, allow_unregistered=False)
    except RuntimeError:  # timm: an unknown architecture, or an unknown tag of a known one
        cfg = None
    if cfg is None or not cfg.hf_hub_id:
        known = timm.list_pretrained()
        arch = name.split('.')[0]
        close = [k for k in known if k.split('.')[0] == arch] or difflib.get_close_matches(name, known, n=5)
        hint = f'; close names: {", ".join(TIMM_PREFIX + k for k in close[:6])}' if close else ''
        raise ValueError(f'{source!r}: timm (version {timm.__version__}) has no pretrained weights of that name on '
                         f'the Hugging Face hub. Names are {TIMM_PREFIX}<model>.<tag> as timm.list_pretrained() '
                         f'lists them{hint}')
    return cfg


def hub_model_id(source: str) -> str:
    """The Hugging Face repository (``org/repo[@revision]``) that holds the weights ``source`` names."""
    if source.startswith(HF_HUB_PREFIX):
        model_id = source[len(HF_HUB_PREFIX):]
        if model_id.count('/') != 1 or not all(model_id.split('@')[0].split('/')):
            raise ValueError(f'{source!r}: an hf-hub name is hf-hub:<org>/<repo>[@<revision>]')
        return model_id
    if not source.startswith(TIMM_PREFIX):
        raise ValueError(f'{source!r} is not a hub name: use {TIMM_PREFIX}<model>.<tag> or '
                         f'{HF_HUB_PREFIX}<org>/<repo>')
    return _timm_pretrained_cfg(source).hf_hub_id


def load_hub_state_dict(source: str) -> Dict[str, torch.Tensor]:
    """Downloads (or reads from the cache) the weights ``source`` names, as timm's builder does:
    ``model.safetensors``, else ``pytorch_model.bin`` loaded weights-only (or the file timm's config names)."""
    from timm.models import load_state_dict_from_hf
    model_id = hub_model_id(source)
    filename = _timm_pretrained_cfg(source).hf_hub_filename if source.startswith(TIMM_PREFIX) else None
    try:
        if filename:
            return load_state_dict_from_hf(model_id, filename=filename, weights_only=True)
        return load_state_dict_from_hf(model_id, weights_only=True)
    except Exception as error:  # huggingface_hub's offline / not-found / network errors
        from huggingface_hub import constants
        raise FileNotFoundError(
            f'{source!r}: could not get the weights of Hugging Face repository {model_id!r} '
            f'({type(error).__name__}: {error}). Online, they are downloaded into the cache '
            f'{constants.HF_HUB_CACHE}; offline (HF_HUB_OFFLINE={int(constants.HF_HUB_OFFLINE)}) they must already '
            f'be there (`huggingface-cli download {model_id.split("@")[0]}` on a machine with access, then copy '
            'the cache), or pass a local file instead.') from error


def read_checkpoint(source: str) -> Any:
    """The checkpoint ``source`` names: a hub name (see the module docstring) or a local file (weights only)."""
    if is_hub_name(source):
        return load_hub_state_dict(source)
    return load_checkpoint_file(source)
