"""Image classifiers over the backbones."""
from .image_classifier import ImageClassifier
from .input_attacks import center_occlusion, fgsm

__all__ = ['ImageClassifier', 'center_occlusion', 'fgsm']
