# UperNet on a ViT-Tiny (width 192): the widths that follow from the size; top-level configs pick the variant.
_base_ = './upernet_vit.py'
model = dict(
    backbone=dict(arch='tiny'),
    neck=dict(embed_dim=192),
    decode_head=dict(in_channels=[192] * 4),
    auxiliary_head=dict(in_channels=192))
