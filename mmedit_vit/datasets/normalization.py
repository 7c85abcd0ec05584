"""Input normalisation of the pretraining, in 0-255 pixel units (data preprocessors take this scale).

DeiT, DeiT-III and every backbone of this project are pretrained on ImageNet mean/std (timm's
``IMAGENET_DEFAULT_MEAN``/``STD``); AugReg ViT checkpoints use 127.5 instead.
"""
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

IMAGENET_MEAN = tuple(round(255 * m, 3) for m in IMAGENET_DEFAULT_MEAN)  # (123.675, 116.28, 103.53)
IMAGENET_STD = tuple(round(255 * s, 3) for s in IMAGENET_DEFAULT_STD)  # (58.395, 57.12, 57.375)
