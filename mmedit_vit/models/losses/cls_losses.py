"""timm's classification losses in mmengine's MODELS, under their timm names, for ``loss=dict(type=...)``."""
from mmengine.registry import MODELS
from timm.loss import BinaryCrossEntropy, LabelSmoothingCrossEntropy, SoftTargetCrossEntropy

for _loss in (BinaryCrossEntropy, LabelSmoothingCrossEntropy, SoftTargetCrossEntropy):
    MODELS.register_module(module=_loss)
