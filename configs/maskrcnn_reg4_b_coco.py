# Mask R-CNN + FPN on COCO, 1x schedule (12 epochs), XCiT / Swin multi-scale training (CB paper,
# Sec. 4.4); ViT-B backbone: ViT with 4 registers.
_base_ = [
    './_base_/models/mask_rcnn_vit_b_fpn.py', './_base_/datasets/coco_instance_mstrain_crop.py',
    './_base_/schedules/det_adamw_1x.py', './_base_/det_runtime.py'
]
model = dict(
    backbone=dict(
        type='PlainViT', num_registers=4,
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/cls_reg4_b_in1k.pth')))
