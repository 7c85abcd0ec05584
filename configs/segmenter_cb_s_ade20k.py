# Segmenter-S-Mask on ADE20K; backbone: Context Broadcasting (upper half).
_base_ = [
    './_base_/models/segmenter_vit.py', './_base_/datasets/ade20k.py', './_base_/default_runtime.py',
    './_base_/schedules/segmenter_160k.py'
]
train_dataloader = dict(batch_size=1)  # x 8 GPUs = 8 (auto_scale_lr.base_batch_size)
model = dict(
    backbone=dict(
        type='CBViT', arch='small',
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/cls_cb_s_in1k.pth')),
    decode_head=dict(in_channels=384, channels=384, embed_dims=384, num_heads=6))
