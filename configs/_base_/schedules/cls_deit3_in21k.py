# DeiT-III recipe, ImageNet-21k column of the EDIT paper's Table 2: as ImageNet-1k but 240 epochs,
# CutMix 1.0 only (no Mixup), label smoothing 0.1 and cross-entropy (on the soft targets).
_base_ = ['./cls_deit3_in1k.py']
model = dict(
    data_preprocessor=dict(mixup=dict(mixup_alpha=0.0, cutmix_alpha=1.0, label_smoothing=0.1)),
    loss=dict(_delete_=True, type='SoftTargetCrossEntropy'))
max_epochs = 240
warmup_epochs = 5
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, eta_min=1e-5, by_epoch=True,
         begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=5)
