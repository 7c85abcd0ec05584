# Segmenter-S-Mask: ViT-Small (width 384, 6 heads) and a mask transformer of the same width and heads
# (mmseg's segmenter_vit-s_mask_8xb1-160k_ade20k-512x512.py); top-level configs pick the variant.
_base_ = './segmenter_vit.py'
model = dict(
    backbone=dict(arch='small'),
    decode_head=dict(in_channels=384, channels=384, embed_dims=384, num_heads=6))
