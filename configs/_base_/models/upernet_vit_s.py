# UperNet on a ViT-Small (width 384): the widths that follow from the size; top-level configs pick the variant.
_base_ = './upernet_vit.py'
model = dict(
    backbone=dict(arch='small'),
    neck=dict(embed_dim=384),
    decode_head=dict(in_channels=[384] * 4),
    auxiliary_head=dict(in_channels=384))
