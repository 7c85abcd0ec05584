# Mask R-CNN + FPN on COCO, 1x schedule (CB paper protocol); ViT-S backbone: 4 registers.
_base_ = [
    './_base_/models/mask_rcnn_vit_s_fpn.py', 'mmdet::_base_/datasets/coco_instance.py',
    './_base_/schedules/det_adamw_1x.py', 'mmdet::_base_/default_runtime.py'
]
custom_imports = dict(imports=['mmedit_vit'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        type='PlainViT', num_registers=4,
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/cls_reg4_s_in1k.pth')))
