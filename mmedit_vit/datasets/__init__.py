"""Datasets, samplers, transforms and generated demo data (registered on import).

The models read only the normalisation constants; everything else builds on mmcv / opencv and is
imported when mmcv is installed, so that the models import with torch + timm + mmengine alone.
"""
import importlib.util

from .normalization import IMAGENET_MEAN, IMAGENET_STD

if importlib.util.find_spec('mmcv') is not None:
    from . import image_folder, imagenet_subset_dataset  # noqa: F401  (registered on import)
    from .samplers import RepeatAugSampler
    from .synthetic_ade20k import make_synthetic_ade20k
    from .synthetic_coco import make_synthetic_coco
    from .synthetic_folder import make_synthetic_folder
    from .transforms import PERTURBATIONS, ImagePerturbation

__all__ = ['IMAGENET_MEAN', 'IMAGENET_STD', 'RepeatAugSampler', 'make_synthetic_ade20k', 'make_synthetic_coco',
           'make_synthetic_folder', 'PERTURBATIONS', 'ImagePerturbation']
