# UperNet on ADE20K, 40k iterations (CB paper protocol); ViT-T backbone: the DeiT-III ViT.
_base_ = [
    './_base_/models/upernet_vit.py', './_base_/datasets/ade20k.py', './_base_/default_runtime.py',
    './_base_/schedules/upernet_40k.py'
]
train_dataloader = dict(batch_size=2)  # x 8 GPUs = 16 (auto_scale_lr.base_batch_size)
model = dict(
    backbone=dict(
        type='PlainViT', arch='tiny',
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/cls_deit3_t_in1k.pth')),
    neck=dict(embed_dim=192),
    decode_head=dict(in_channels=[192] * 4, channels=192),
    auxiliary_head=dict(in_channels=192))
