# Mask R-CNN + FPN on COCO, 3x schedule (36 epochs), XCiT / Swin multi-scale training (CB paper,
# Sec. 4.4); ViT-S backbone: EDIT ([CLS] refined by a shared decoder).
_base_ = [
    './_base_/models/mask_rcnn_vit_s_fpn.py', './_base_/datasets/coco_instance_mstrain_crop.py',
    './_base_/schedules/det_adamw_3x.py', './_base_/det_runtime.py'
]
model = dict(
    backbone=dict(
        type='EDITViT',
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/cls_edit_s_in1k.pth')))
