# UperNet on ADE20K, 40k iterations (CB paper, Sec. 4.3 and Table 6: the XCiT protocol); ViT-S
# backbone: the DeiT-III ViT.
_base_ = [
    './_base_/models/upernet_vit_s.py', './_base_/datasets/ade20k.py',
    './_base_/default_runtime.py', './_base_/schedules/upernet_40k.py'
]
train_dataloader = dict(batch_size=2)  # x 8 GPUs = 16 (auto_scale_lr.base_batch_size)
model = dict(
    backbone=dict(
        type='PlainViT',
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/cls_deit3_s_in1k.pth')))
