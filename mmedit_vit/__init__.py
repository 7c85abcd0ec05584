"""Attention-sink-free Vision Transformers for OpenMMLab: DeiT-III, registers, gated attention,
Context Broadcasting and EDIT backbones."""
from .utils import register_mmengine_safe_globals, use_weights_only_loader
from .version import __version__

register_mmengine_safe_globals()
use_weights_only_loader()  # every mmengine checkpoint read is weights-only

from . import datasets, engine, evaluation, models  # noqa: E402  (register modules in mmengine's registries)

__all__ = ['__version__', 'datasets', 'engine', 'evaluation', 'models']
