# ViTDet Mask R-CNN on COCO (Li et al. 2022): windowed ViT with global blocks 2, 5, 8, 11, simple feature
# pyramid, LSJ at 1024x1024, 100 epochs at batch 64 (configs/PROTOCOLS.md, "ViTDet"); ViT-B backbone:
# the DeiT-III ViT.
_base_ = [
    './_base_/models/vitdet_mask_rcnn_vit_b.py', './_base_/datasets/coco_instance_lsj_1024.py',
    './_base_/schedules/vitdet_adamw_100e.py', './_base_/det_runtime_iter.py'
]
model = dict(
    backbone=dict(
        type='PlainViT',
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/cls_deit3_b_in1k.pth')))
