"""Data transforms registered in mmengine's root TRANSFORMS (found from every scope)."""
from .perturbations import PERTURBATIONS, ImagePerturbation

__all__ = ['ImagePerturbation', 'PERTURBATIONS']
