# DeiT-III recipe, transfer column of the EDIT paper's Table 2: fine-tune an ImageNet-1k checkpoint
# with LAMB lr 1e-4 at batch 768, weight decay 0.01, 5 warmup epochs then cosine, 400 epochs, CutMix 1.0
# (no Mixup), label smoothing 0.1, cross-entropy, drop path 0.1, no gradient clipping.
_base_ = ['./cls_deit3_in1k.py']
model = dict(
    backbone=dict(drop_path_rate=0.1),
    data_preprocessor=dict(mixup=dict(mixup_alpha=0.0, cutmix_alpha=1.0, label_smoothing=0.1)),
    loss=dict(_delete_=True, type='SoftTargetCrossEntropy'))
optim_wrapper = dict(optimizer=dict(lr=1e-4, weight_decay=0.01), clip_grad=None)
max_epochs = 400
warmup_epochs = 5
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, eta_min=1e-6, by_epoch=True,
         begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=10)
auto_scale_lr = dict(base_batch_size=768)
