# Segmenter-B-Mask: ViT-Base (width 768, 12 heads) and a mask transformer of the same width and heads
# (mmseg's segmenter_vit-b_mask_8xb1-160k_ade20k-512x512.py); top-level configs pick the variant.
_base_ = './segmenter_vit.py'
model = dict(
    backbone=dict(arch='base'),
    decode_head=dict(in_channels=768, channels=768, embed_dims=768, num_heads=12))
