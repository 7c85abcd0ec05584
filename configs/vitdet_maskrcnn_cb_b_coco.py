# ViTDet Mask R-CNN on COCO (Li et al. 2022): windowed ViT with global blocks 2, 5, 8, 11, simple feature
# pyramid, LSJ at 1024x1024, 100 epochs at batch 64 (configs/PROTOCOLS.md, "ViTDet"); ViT-B backbone:
# Context Broadcasting in blocks 6-10 (the upper half without the block that feeds the pyramid), on the DeiT
# ViT (no LayerScale).
_base_ = [
    './_base_/models/vitdet_mask_rcnn_vit_b.py', './_base_/datasets/coco_instance_lsj_1024.py',
    './_base_/schedules/vitdet_adamw_100e.py', './_base_/det_runtime_iter.py'
]
model = dict(
    backbone=dict(
        type='CBViT', layer_scale_init=None, cb_layers=[6, 7, 8, 9, 10],
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/cls_cb_b_in1k.pth')))
