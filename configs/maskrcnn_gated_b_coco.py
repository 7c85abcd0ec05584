# Mask R-CNN + FPN on COCO, 1x schedule (12 epochs), XCiT / Swin multi-scale training (CB paper,
# Sec. 4.4); ViT-B backbone: gated attention (elementwise sigmoid gate on SDPA, the proposal's O * sigmoid(X W + b)).
_base_ = [
    './_base_/models/mask_rcnn_vit_b_fpn.py', './_base_/datasets/coco_instance_mstrain_crop.py',
    './_base_/schedules/det_adamw_1x.py', './_base_/det_runtime.py'
]
model = dict(
    backbone=dict(
        type='GatedViT', gate='elementwise',
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/cls_gated_b_in1k.pth')))
