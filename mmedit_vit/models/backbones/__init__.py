from .variants import BACKBONE_VARIANTS
from .vit import ARCH_SETTINGS, CBViT, EDITViT, GatedViT, PlainViT, resolve_arch

__all__ = ['BACKBONE_VARIANTS', 'PlainViT', 'GatedViT', 'CBViT', 'EDITViT', 'ARCH_SETTINGS', 'resolve_arch']
