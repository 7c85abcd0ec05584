"""Optimiser wrappers and constructors (registered in mmengine's root registry on import)."""
from . import lamb  # noqa: F401  (registers timm.optim.Lamb)
from .deferred_grad_norm import DeferredLogAmpOptimWrapper, DeferredLogOptimWrapper
from .layer_decay import ViTLayerDecayOptimWrapperConstructor, vit_layer_id
