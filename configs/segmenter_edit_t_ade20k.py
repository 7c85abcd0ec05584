# Segmenter-T-Mask on ADE20K (mmseg's Segmenter protocol); backbone:
# EDIT ([CLS] refined by a shared decoder).
_base_ = [
    './_base_/models/segmenter_vit_t.py', './_base_/datasets/ade20k.py',
    './_base_/default_runtime.py', './_base_/schedules/segmenter_160k.py'
]
train_dataloader = dict(batch_size=1)  # x 8 GPUs = 8 (auto_scale_lr.base_batch_size)
model = dict(
    backbone=dict(
        type='EDITViT',
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/cls_edit_t_in1k.pth')))
