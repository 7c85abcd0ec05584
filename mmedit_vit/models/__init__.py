from .backbones import CBViT, EDITViT, GatedViT, PlainViT

__all__ = ['PlainViT', 'GatedViT', 'CBViT', 'EDITViT']
