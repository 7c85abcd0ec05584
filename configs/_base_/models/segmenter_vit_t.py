# Segmenter-T-Mask: ViT-Tiny (width 192, 3 heads) and a mask transformer of the same width and heads
# (mmseg's segmenter_vit-t_mask_8xb1-160k_ade20k-512x512.py); top-level configs pick the variant.
_base_ = './segmenter_vit.py'
model = dict(
    backbone=dict(arch='tiny'),
    decode_head=dict(in_channels=192, channels=192, embed_dims=192, num_heads=3))
