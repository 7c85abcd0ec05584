# Mask R-CNN + FPN on COCO, 1x schedule (CB paper protocol); ViT-T backbone:
# Context Broadcasting in blocks 6, 8, 9, 10 (the upper half but the blocks that feed the neck, CB paper Sec. 4.4).
_base_ = [
    './_base_/models/mask_rcnn_vit_t_fpn.py', 'mmdet::_base_/datasets/coco_instance.py',
    './_base_/schedules/det_adamw_1x.py', 'mmdet::_base_/default_runtime.py'
]
custom_imports = dict(imports=['mmedit_vit'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        type='CBViT', cb_layers=[6, 8, 9, 10],
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/cls_cb_t_in1k.pth')))
