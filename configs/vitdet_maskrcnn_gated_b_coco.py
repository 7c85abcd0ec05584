# ViTDet Mask R-CNN on COCO (Li et al. 2022): windowed ViT with global blocks 2, 5, 8, 11, simple feature
# pyramid, LSJ at 1024x1024, 100 epochs at batch 64 (configs/PROTOCOLS.md, "ViTDet"); ViT-B backbone:
# gated attention (elementwise sigmoid gate on SDPA, the proposal's O * sigmoid(X W + b)).
_base_ = [
    './_base_/models/vitdet_mask_rcnn_vit_b.py', './_base_/datasets/coco_instance_lsj_1024.py',
    './_base_/schedules/vitdet_adamw_100e.py', './_base_/det_runtime_iter.py'
]
model = dict(
    backbone=dict(
        type='GatedViT', gate='elementwise',
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/cls_gated_b_in1k.pth')))
