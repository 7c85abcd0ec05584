"""Classification losses: timm's, registered in mmengine's MODELS."""
from . import cls_losses  # noqa: F401  (registers timm's losses)
