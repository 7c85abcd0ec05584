# The sink study's form of configs/vitdet_maskrcnn_gated_s_coco.py (gated attention): the pretraining [CLS] stays
# in the sequence and, with any registers, is a key and value of every window (prefix_in_windows='every_window').
# The sink can then sit on [CLS] in the windowed blocks, and windowed blocks exchange information across the whole
# image through it. Not ViTDet's protocol, which has no [CLS] (docs/vitdet.md, "The token set").
_base_ = './vitdet_maskrcnn_gated_s_coco.py'
model = dict(backbone=dict(with_cls_token=True, prefix_in_windows='every_window'))
