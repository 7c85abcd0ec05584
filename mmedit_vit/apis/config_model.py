"""The backbone and input normalisation of a project config (segmentation, detection, classification,
or a bare backbone config), built once and loaded through ``init_cfg`` for the analysis tools."""
import copy
import os.path as osp
from typing import Iterable, Optional, Sequence, Tuple

import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import MODELS
from torch import nn

from ..converters import is_hub_name
from ..datasets.normalization import IMAGENET_MEAN, IMAGENET_STD
from ..models.backbones.vit import pretrained_init_cfg


def _as_config(config) -> Config:
    if isinstance(config, Config):
        return config
    if isinstance(config, str):
        if not osp.isfile(config):
            raise FileNotFoundError(f'config file {config!r} does not exist')
        return Config.fromfile(config)
    if isinstance(config, dict):
        return Config(dict(config))
    raise TypeError(f'expected a config path, Config or dict, got {type(config).__name__}')


def backbone_config(cfg: Config) -> ConfigDict:
    """``model.backbone`` of a task config, ``model`` if it is itself a backbone, or a top-level ``backbone``.

    A task model's ``pretrained`` path goes to its backbone, as mmseg's EncoderDecoder hands it over.
    """
    model = cfg.get('model')
    if isinstance(model, dict) and isinstance(model.get('backbone'), dict):
        backbone = copy.deepcopy(model['backbone'])
        if model.get('pretrained') is not None:
            if backbone.get('pretrained') is not None:
                raise ValueError(f"model.pretrained={model['pretrained']!r} and model.backbone.pretrained="
                                 f"{backbone['pretrained']!r} are both set; keep one")
            backbone['pretrained'] = model['pretrained']
        return backbone
    if isinstance(model, dict) and 'type' in model and 'backbone' not in model:
        return copy.deepcopy(model)
    if isinstance(cfg.get('backbone'), dict):
        return copy.deepcopy(cfg['backbone'])
    raise ValueError('the config has no backbone: expected model.backbone (a task config), a model that is a '
                     'backbone, or a top-level backbone dict')


def normalisation(cfg: Config) -> Tuple[Sequence[float], Sequence[float], bool]:
    """(mean, std, rgb) of the config's data_preprocessor; ``rgb`` says whether the model sees RGB order.

    Images are read as RGB; a preprocessor that sets ``bgr_to_rgb`` / ``to_rgb`` to False is fed BGR
    (what mmcv's loader gives it). Without a data_preprocessor, ImageNet RGB statistics apply.
    """
    model = cfg.get('model') if isinstance(cfg.get('model'), dict) else {}
    dp = model.get('data_preprocessor') or cfg.get('data_preprocessor') or {}
    mean = dp.get('mean') or IMAGENET_MEAN
    std = dp.get('std') or IMAGENET_STD
    rgb = bool(dp.get('bgr_to_rgb', dp.get('to_rgb', True)))
    if len(mean) != 3 or len(std) != 3:
        raise ValueError(f'data_preprocessor mean={mean} / std={std} must have 3 values (RGB images)')
    return list(mean), list(std), rgb


def _pretrained(init_cfg) -> Optional[dict]:
    items = init_cfg if isinstance(init_cfg, list) else [init_cfg]
    return next((i for i in items if isinstance(i, dict) and i.get('type') == 'Pretrained'), None)


def build_backbone(config, checkpoint: Optional[str] = None, missing_ok: Iterable[str] = (),
                   random_init: bool = False) -> nn.Module:
    """Builds the config's backbone and loads weights the way ``init_cfg`` does.

    ``checkpoint`` (anything ``init_cfg=dict(type='Pretrained')`` accepts: timm, DeiT-III, or this
    project's classifier / segmentor / detector checkpoints, or a hub name such as timm/<model>.<tag>)
    replaces the config's own; without it,
    the config's ``Pretrained`` file is loaded, or ``random_init`` keeps the initialisation.
    """
    cfg = _as_config(config)
    bb = backbone_config(cfg)
    if bb.get('pretrained') is not None:  # the deprecated spelling of a Pretrained init_cfg
        bb['init_cfg'] = pretrained_init_cfg(bb.pop('pretrained'), bb.get('init_cfg'))
    if checkpoint is not None:
        if not osp.isfile(checkpoint) and not is_hub_name(checkpoint):
            raise FileNotFoundError(f'checkpoint {checkpoint!r} does not exist (nor is it a timm/<model>.<tag> name)')
        bb['init_cfg'] = dict(type='Pretrained', checkpoint=checkpoint, missing_ok=list(missing_ok))
    elif random_init:
        bb['init_cfg'] = None
    else:
        pre = _pretrained(bb.get('init_cfg'))
        if pre is not None and not osp.isfile(pre.get('checkpoint', '')) and not is_hub_name(pre.get('checkpoint')):
            raise FileNotFoundError(
                f"the config's backbone starts from {pre.get('checkpoint')!r}, which does not exist; pass "
                '--checkpoint PATH (a timm / DeiT-III file or one of this project\'s checkpoints) or --random-init')
    backbone = MODELS.build(bb)
    if bb.get('init_cfg'):  # the constructor has already initialised the rest
        backbone.init_weights()
    return backbone.eval()


def normalise_images(images: torch.Tensor, cfg: Config) -> torch.Tensor:
    """(B, 3, H, W) RGB pixels in [0, 255] -> the model's normalised input."""
    mean, std, rgb = normalisation(cfg)
    if not rgb:
        images = images.flip(1)  # mean / std are given in the order the model sees
    mean_t = torch.tensor(mean, dtype=images.dtype).view(1, 3, 1, 1)
    std_t = torch.tensor(std, dtype=images.dtype).view(1, 3, 1, 1)
    return (images - mean_t) / std_t
