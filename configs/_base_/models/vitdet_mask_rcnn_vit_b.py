# ViTDet's Mask R-CNN (Li et al., "Exploring Plain Vision Transformer Backbones for Object Detection", ECCV 2022)
# with a plain ViT-Base: 14x14 windowed attention in every block but 2, 5, 8, 11 (global), decomposed relative
# position biases, the last block's map only, turned into strides 4-64 by the simple feature pyramid; RPN with
# two convolutions, a 4-conv + 1-fc box head and the mask head with LN. Values as detectron2's
# projects/ViTDet/configs/common/models/mask_rcnn_vitdet.py and mmdet's
# projects/ViTDet/configs/vitdet_mask-rcnn_vit-b-mae_lsj-100e.py (see configs/PROTOCOLS.md, "ViTDet").
# The _s piece changes the width; the top-level configs pick the variant and its checkpoint.
_base_ = 'mmdet::_base_/models/mask-rcnn_r50_fpn.py'

# LN over the channels of a map; eps as detectron2's LayerNorm (mmcv's builder would use 1e-5)
vitdet_norm = dict(type='LN2d', eps=1e-6, requires_grad=True)

model = dict(
    # every training batch padded to 1024x1024 (detectron2 square_pad=1024), masks too
    data_preprocessor=dict(
        pad_size_divisor=32,
        batch_augments=[dict(type='BatchFixedSizePad', size=(1024, 1024), pad_mask=True)]),
    backbone=dict(
        _delete_=True,
        type='PlainViT',
        arch='base',
        img_size=1024,  # the position embedding is resampled from the 224 checkpoint on loading
        patch_size=16,
        # ViTDet's token set: no [CLS] in the sequence (detectron2's ViT drops the pretraining [CLS] and its
        # position slot; loading names both), registers (if any) meet the patches in the global blocks only,
        # so a windowed block is local (configs/PROTOCOLS.md, "ViTDet"; docs/vitdet.md)
        with_cls_token=False,
        prefix_in_windows='global_blocks',
        drop_path_rate=0.1,
        window_size=14,
        global_attn_indexes=(2, 5, 8, 11),
        rel_pos=True,
        out_indices=(11,),
        final_norm=True,
        out_cls_token=False),
    neck=dict(
        _delete_=True,
        type='SimpleFPN',
        backbone_channel=768,
        in_channels=[192, 384, 768, 768],
        out_channels=256,
        num_outs=5,
        norm_cfg=vitdet_norm),
    rpn_head=dict(num_convs=2),
    roi_head=dict(
        bbox_head=dict(type='Shared4Conv1FCBBoxHead', conv_out_channels=256, norm_cfg=vitdet_norm),
        mask_head=dict(norm_cfg=vitdet_norm)))
