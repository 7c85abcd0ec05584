"""Pictures of predictions for people to look at (the demos' outputs)."""
from .segmentation_grid import draw_segmentation_grid

__all__ = ['draw_segmentation_grid']
