# Mask R-CNN with a plain ViT-Tiny backbone (mmdet 3): the stride-16 maps of blocks 3, 5, 7 and 11 (XCiT's
# depths) are brought to strides 4, 8, 16, 32 by mmseg's Feature2Pyramid (transposed convolutions, identity,
# max-pool; found from mmdet's scope as 'mmseg.Feature2Pyramid'), then mmdet's FPN. The neck list is built as
# one nn.Sequential. Everything past the neck is mmdet's Mask R-CNN R50-FPN.
# The _s/_b pieces change the width; the top-level configs pick the variant and its checkpoint.
_base_ = 'mmdet::_base_/models/mask-rcnn_r50_fpn.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='PlainViT',
        arch='tiny',
        img_size=224,  # the pretraining size; 800x1333 inputs resample the position embedding
        patch_size=16,
        drop_path_rate=0.1,
        out_indices=(3, 5, 7, 11),
        final_norm=True,
        out_cls_token=False),
    neck=[
        dict(type='mmseg.Feature2Pyramid', embed_dim=192, rescales=[4, 2, 1, 0.5],
             norm_cfg=dict(type='SyncBN', requires_grad=True)),
        dict(type='FPN', in_channels=[192, 192, 192, 192], out_channels=256, num_outs=5),
    ])
