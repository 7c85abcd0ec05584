# Mask R-CNN with a plain ViT-Small backbone: mask_rcnn_vit_t_fpn.py at width 384.
_base_ = './mask_rcnn_vit_t_fpn.py'

model = dict(
    backbone=dict(arch='small'),
    neck=[
        dict(type='mmseg.Feature2Pyramid', embed_dim=384, rescales=[4, 2, 1, 0.5],
             norm_cfg=dict(type='SyncBN', requires_grad=True)),
        dict(type='FPN', in_channels=[384, 384, 384, 384], out_channels=256, num_outs=5),
    ])
