# UperNet on ADE20K, 40k iterations (CB paper protocol); ViT-S backbone: Context Broadcasting (upper half).
_base_ = [
    './_base_/models/upernet_vit.py', './_base_/datasets/ade20k.py', './_base_/default_runtime.py',
    './_base_/schedules/upernet_40k.py'
]
train_dataloader = dict(batch_size=2)  # x 8 GPUs = 16 (auto_scale_lr.base_batch_size)
model = dict(
    backbone=dict(
        type='CBViT', arch='small',
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/cls_cb_s_in1k.pth')),
    neck=dict(embed_dim=384),
    decode_head=dict(in_channels=[384] * 4, channels=384),
    auxiliary_head=dict(in_channels=384))
