"""Data transforms registered in mmengine's root TRANSFORMS (found from every scope)."""
from .cls_transforms import LoadPILImage, PackClsInputs, TimmTransform
from .corruptions import BENCHMARK_CORRUPTIONS, CORRUPTION_FAMILIES, CORRUPTIONS, Corrupt
from .perturbations import PERTURBATIONS, ImagePerturbation
from .sample_checks import BadSampleError, CheckImageFile, CheckSegLabels

__all__ = ['BENCHMARK_CORRUPTIONS', 'CORRUPTION_FAMILIES', 'CORRUPTIONS', 'Corrupt',
           'BadSampleError', 'CheckImageFile', 'CheckSegLabels', 'ImagePerturbation', 'PERTURBATIONS', 'LoadPILImage',
           'TimmTransform', 'PackClsInputs']
