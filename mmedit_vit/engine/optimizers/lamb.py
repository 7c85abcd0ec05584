"""timm's LAMB (You et al.), the DeiT-III / EDIT pretraining optimiser, in mmengine's OPTIMIZERS."""
from mmengine.registry import OPTIMIZERS
from timm.optim import Lamb

OPTIMIZERS.register_module(module=Lamb)
