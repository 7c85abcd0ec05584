# UperNet on ADE20K, 160k iterations (CB paper, Sec. 4.3 and Table 6: the XCiT protocol); ViT-B
# backbone: EDIT ([CLS] refined by a shared decoder).
_base_ = [
    './_base_/models/upernet_vit_b.py', './_base_/datasets/ade20k.py',
    './_base_/default_runtime.py', './_base_/schedules/upernet_160k.py'
]
train_dataloader = dict(batch_size=2)  # x 8 GPUs = 16 (auto_scale_lr.base_batch_size)
model = dict(
    backbone=dict(
        type='EDITViT',
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/cls_edit_b_in1k.pth')))
