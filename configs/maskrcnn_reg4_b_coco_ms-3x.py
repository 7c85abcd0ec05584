# Mask R-CNN + FPN on COCO, 3x schedule with multi-scale training; ViT-B backbone: 4 registers.
_base_ = [
    './_base_/models/mask_rcnn_vit_b_fpn.py', './_base_/datasets/coco_instance_ms_det.py',
    './_base_/schedules/det_adamw_3x.py', 'mmdet::_base_/default_runtime.py'
]
custom_imports = dict(imports=['mmedit_vit'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        type='PlainViT', num_registers=4,
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/cls_reg4_b_in1k.pth')))
