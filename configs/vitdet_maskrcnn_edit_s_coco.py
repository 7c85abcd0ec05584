# ViTDet Mask R-CNN on COCO (Li et al. 2022): windowed ViT with global blocks 2, 5, 8, 11, simple feature
# pyramid, LSJ at 1024x1024, 100 epochs at batch 64 (configs/PROTOCOLS.md, "ViTDet"); ViT-S backbone:
# EDIT ([CLS] refined by a shared decoder; dense use reads the patch tokens).
_base_ = [
    './_base_/models/vitdet_mask_rcnn_vit_s.py', './_base_/datasets/coco_instance_lsj_1024.py',
    './_base_/schedules/vitdet_adamw_100e.py', './_base_/det_runtime_iter.py'
]
model = dict(
    backbone=dict(
        type='EDITViT', with_cls_token=True,  # [CLS] stays outside the sequence, in the decoder (not read)
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/cls_edit_s_in1k.pth')))
