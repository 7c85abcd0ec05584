"""Optimiser wrapper constructors (registered in mmengine's root registry on import)."""
from .layer_decay import ViTLayerDecayOptimWrapperConstructor, vit_layer_id
from . import lamb  # noqa: F401  (registers timm.optim.Lamb)
