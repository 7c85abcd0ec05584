"""Data transforms registered in mmengine's root TRANSFORMS (found from every scope)."""
from .cls_transforms import LoadPILImage, PackClsInputs, ReleasedImageToTensor, TimmTransform
from .corruptions import BENCHMARK_CORRUPTIONS, CORRUPTION_FAMILIES, CORRUPTIONS, Corrupt
from .det_masks import LoadDetAnnotations
from .perturbations import PERTURBATIONS, ImagePerturbation
from .sample_checks import BadSampleError, CheckImageFile
from .seg_labels import LoadSegLabels, decode_label_file

__all__ = ['BENCHMARK_CORRUPTIONS', 'CORRUPTION_FAMILIES', 'CORRUPTIONS', 'Corrupt', 'BadSampleError', 'CheckImageFile',
           'LoadDetAnnotations', 'LoadSegLabels', 'decode_label_file', 'ImagePerturbation', 'PERTURBATIONS',
           'LoadPILImage', 'TimmTransform', 'PackClsInputs', 'ReleasedImageToTensor']
