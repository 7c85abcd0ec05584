# Mask R-CNN with a plain ViT-Base backbone: mask_rcnn_vit_t_fpn.py at width 768.
_base_ = './mask_rcnn_vit_t_fpn.py'

model = dict(
    backbone=dict(arch='base'),
    neck=[
        dict(type='mmseg.Feature2Pyramid', embed_dim=768, rescales=[4, 2, 1, 0.5],
             norm_cfg=dict(type='SyncBN', requires_grad=True)),
        dict(type='FPN', in_channels=[768, 768, 768, 768], out_channels=256, num_outs=5),
    ])
