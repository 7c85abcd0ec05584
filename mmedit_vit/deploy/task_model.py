"""The task model of a config with a checkpoint loaded strictly, in eval mode, on the CPU."""
from typing import Optional

from torch import nn


def build_task_model(cfg, checkpoint: Optional[str]) -> nn.Module:
    """``cfg.model`` built in the config's scope; ``checkpoint`` (a file this project or mmengine wrote, keys
    under 'state_dict') loaded strictly; None keeps the initialisation (to check that a config exports)."""
    import os.path as osp

    from mmengine.registry import MODELS, init_default_scope
    from mmengine.runner.checkpoint import load_checkpoint
    init_default_scope(cfg.get('default_scope') or 'mmedit_vit')
    model = MODELS.build(cfg.model)
    if checkpoint is not None:
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(f'checkpoint {checkpoint!r} does not exist')
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True, logger='silent')
    return model.cpu().eval()


def normalisation_metadata(model: nn.Module) -> dict:
    """The data preprocessor's mean / std and channel order, for the exported file's metadata."""
    dp = getattr(model, 'data_preprocessor', None)
    meta = {}
    for key in ('mean', 'std'):
        value = getattr(dp, key, None)
        if value is not None:
            meta[key] = ','.join(f'{float(v):g}' for v in value.flatten())
    for key in ('_channel_conversion', 'bgr_to_rgb', 'to_rgb'):
        if hasattr(dp, key):
            meta['bgr_to_rgb'] = str(bool(getattr(dp, key)))
            break
    return meta
