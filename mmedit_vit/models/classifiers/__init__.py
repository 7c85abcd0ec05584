"""Image classifiers over the backbones."""
from . import losses  # noqa: F401  (registers timm's losses)
from .data_preprocessor import ClsDataPreprocessor
from .image_classifier import ImageClassifier
from .input_attacks import center_occlusion, fgsm

__all__ = ['ClsDataPreprocessor', 'ImageClassifier', 'center_occlusion', 'fgsm']
