# DeiT recipe (the CB paper's ImageNet-1k training): AdamW (0.9, 0.999), lr 1e-3 x batch / 1024, weight
# decay 0.05, 5 warmup epochs then cosine, 300 epochs, Mixup 0.8 + CutMix 1.0 with label smoothing 0.1
# (soft-target cross-entropy), random erasing 0.25 (per-pixel noise), drop path 0.1; RandAugment and
# repeated augmentation are in the dataset file (imagenet1k_randaug.py).
_base_ = ['../models/cls_vit.py']
model = dict(
    # the DeiT ViT (CB paper, Sec. 4.2 and App. B.2: "the specification of ViT-Ti-S from DeiT"): no LayerScale,
    # drop path rising linearly with depth (DeiT / timm)
    backbone=dict(drop_path_rate=0.1, drop_path_schedule='linear', layer_scale_init=None),
    data_preprocessor=dict(
        mixup=dict(mixup_alpha=0.8, cutmix_alpha=1.0, label_smoothing=0.1),
        random_erasing=dict(probability=0.25, mode='pixel', max_count=1)),
    loss=dict(_delete_=True, type='SoftTargetCrossEntropy'))
paramwise_cfg = dict(
    norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0,
    custom_keys={'pos_embed': dict(decay_mult=0.0), 'cls_token': dict(decay_mult=0.0),
                 'reg_token': dict(decay_mult=0.0)})
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05),
    accumulative_counts=1,
    paramwise_cfg=paramwise_cfg)
max_epochs = 300
warmup_epochs = 5
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, eta_min=1e-5, by_epoch=True,
         begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
auto_scale_lr = dict(base_batch_size=1024, enable=False)
