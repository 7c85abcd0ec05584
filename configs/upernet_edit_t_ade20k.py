# UperNet on ADE20K, 160k iterations (CB paper protocol); ViT-T backbone: EDIT ([CLS] refined by a shared decoder).
_base_ = [
    './_base_/models/upernet_vit.py', './_base_/datasets/ade20k.py', './_base_/default_runtime.py',
    './_base_/schedules/upernet_160k.py'
]
train_dataloader = dict(batch_size=2)  # x 8 GPUs = 16 (auto_scale_lr.base_batch_size)
model = dict(
    backbone=dict(
        type='EDITViT', arch='tiny',
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/cls_edit_t_in1k.pth')),
    neck=dict(embed_dim=192),
    decode_head=dict(in_channels=[192] * 4, channels=192),
    auxiliary_head=dict(in_channels=192))
