"""Necks that turn the plain ViT's single-scale map into a detection pyramid (needs mmcv)."""
from .layer_norm_2d import LN2d
from .simple_fpn import SimpleFPN

__all__ = ['LN2d', 'SimpleFPN']
