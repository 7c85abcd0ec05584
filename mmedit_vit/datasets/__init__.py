"""Datasets, generated demo data and test-time transforms (registered on import)."""
from .data_check import DatasetNotFoundError, check_data_roots
from .synthetic_ade20k import make_synthetic_ade20k
from .synthetic_coco import make_synthetic_coco
from .transforms import ImagePerturbation, PERTURBATIONS
# classification: registered on import
from . import cls_transforms, image_folder, imagenet_subset_dataset, repeat_aug_sampler, topk_accuracy  # noqa: F401
from .synthetic_folder import make_synthetic_folder
