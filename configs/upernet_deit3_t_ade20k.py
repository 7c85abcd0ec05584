# UperNet on ADE20K, 160k iterations (CB paper, Sec. 4.3 and Table 6: the XCiT protocol); ViT-T
# backbone: the DeiT-III ViT.
_base_ = [
    './_base_/models/upernet_vit_t.py', './_base_/datasets/ade20k.py',
    './_base_/default_runtime.py', './_base_/schedules/upernet_160k.py'
]
train_dataloader = dict(batch_size=2)  # x 8 GPUs = 16 (auto_scale_lr.base_batch_size)
model = dict(
    backbone=dict(
        type='PlainViT',
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/cls_deit3_t_in1k.pth')))
