# DeiT-III recipe for fine-tuning an ImageNet-21k checkpoint on ImageNet-1k (EDIT paper, Fig. 4b and Table 3 (b):
# pretrain 21k at 224, fine-tune 1k at 224 or 384). The EDIT paper gives no column for this step; it follows
# DeiT-III, whose README_revenge.md "finetuning on ImageNet-1k" commands (after the 21k pretraining) are: LAMB,
# lr 3e-4 at batch 2048, weight decay 0.02, 5 warmup epochs (from 1e-6) then cosine, 50 epochs, CutMix 1.0 without
# Mixup, label smoothing 0.1 and cross-entropy (no --bce-loss), no repeated augmentation, 3-Augment with simple
# random crop (--src), colour jitter 0.3, drop path 0.05 (S) / 0.15 (B, set by the config), no gradient clipping.
_base_ = ['./cls_deit3_in1k.py']
model = dict(
    backbone=dict(drop_path_rate=0.05),
    data_preprocessor=dict(mixup=dict(mixup_alpha=0.0, cutmix_alpha=1.0, label_smoothing=0.1)),
    loss=dict(_delete_=True, type='SoftTargetCrossEntropy'))
optim_wrapper = dict(optimizer=dict(lr=3e-4, weight_decay=0.02), clip_grad=None)
max_epochs = 50
warmup_epochs = 5
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6 / 3e-4, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, eta_min=1e-5, by_epoch=True,
         begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=5)
