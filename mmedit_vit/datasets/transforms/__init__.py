"""Data transforms registered in mmengine's root TRANSFORMS (found from every scope)."""
from .cls_transforms import LoadPILImage, PackClsInputs, TimmTransform
from .perturbations import PERTURBATIONS, ImagePerturbation

__all__ = ['ImagePerturbation', 'PERTURBATIONS', 'LoadPILImage', 'TimmTransform', 'PackClsInputs']
