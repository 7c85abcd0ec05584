# ViTDet's Mask R-CNN with a plain ViT-Small: vitdet_mask_rcnn_vit_b.py at width 384 (the paper has no ViT-S;
# same depth, windows, global blocks and drop path as B: configs/PROTOCOLS.md, "ViTDet").
_base_ = './vitdet_mask_rcnn_vit_b.py'

model = dict(
    backbone=dict(arch='small'),
    neck=dict(backbone_channel=384, in_channels=[96, 192, 384, 384]))
