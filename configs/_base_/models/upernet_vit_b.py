# UperNet on a ViT-Base (width 768): the widths that follow from the size; top-level configs pick the variant.
_base_ = './upernet_vit.py'
model = dict(
    backbone=dict(arch='base'),
    neck=dict(embed_dim=768),
    decode_head=dict(in_channels=[768] * 4),
    auxiliary_head=dict(in_channels=768))
