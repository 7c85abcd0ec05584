from . import classifiers, data_preprocessors, losses  # noqa: F401  (register on import)
from .backbones import CBViT, EDITViT, GatedViT, PlainViT

__all__ = ['PlainViT', 'GatedViT', 'CBViT', 'EDITViT']
