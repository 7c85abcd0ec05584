"""mmseg decode heads whose training loss resizes logits with GEMMs (needs mmseg; registered on import)."""
from .matmul_resize_heads import (
                                  MatmulResizeFCNHead,
                                  MatmulResizeLossMixin,
                                  MatmulResizeSegmenterMaskTransformerHead,
                                  MatmulResizeUPerHead,
    pixel_accuracy,
)

__all__ = ['MatmulResizeLossMixin', 'MatmulResizeSegmenterMaskTransformerHead', 'MatmulResizeUPerHead',
           'MatmulResizeFCNHead', 'pixel_accuracy']
