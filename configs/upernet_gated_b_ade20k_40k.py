# UperNet on ADE20K, 40k iterations (CB paper, Sec. 4.3 and Table 6: the XCiT protocol); ViT-B
# backbone: gated attention (elementwise sigmoid gate on SDPA, the proposal's O * sigmoid(X W + b)).
_base_ = [
    './_base_/models/upernet_vit_b.py', './_base_/datasets/ade20k.py',
    './_base_/default_runtime.py', './_base_/schedules/upernet_40k.py'
]
train_dataloader = dict(batch_size=2)  # x 8 GPUs = 16 (auto_scale_lr.base_batch_size)
model = dict(
    backbone=dict(
        type='GatedViT', gate='elementwise',
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/cls_gated_b_in1k.pth')))
