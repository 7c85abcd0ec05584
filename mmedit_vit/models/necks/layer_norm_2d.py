"""``LN2d``: LayerNorm over the channels of an NCHW map (timm's ``LayerNorm2d``), for mmcv's ``build_norm_layer``.

ViTDet normalises its pyramid convolutions and the convolutions of its box and mask heads with it
(detectron2 ``norm="LN"``, mmdet's ViTDet project ``norm_cfg=dict(type='LN2d')``). mmcv's builder fills in
``eps=1e-5`` unless the config gives one; detectron2's LayerNorm uses 1e-6.
"""
from mmengine.registry import MODELS
from timm.layers import LayerNorm2d

LN2d = LayerNorm2d
MODELS.register_module('LN2d', module=LayerNorm2d)
