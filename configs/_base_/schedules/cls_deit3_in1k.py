# DeiT-III recipe, ImageNet-1k column of the EDIT paper's Table 2: LAMB, lr 3e-3 at batch 2048, weight
# decay 0.02, 5 warmup epochs then cosine, 800 epochs, Mixup 0.8 + CutMix 1.0 without label smoothing,
# BCE on the mixed targets made binary (DeiT-III: targets > 0), gradient clipping 1.0, drop path 0.05
# (set in the model; 0 for Tiny) at the same rate in every block, LayerScale initialised at 1e-4, repeated
# augmentation (in the dataset file).
_base_ = ['../models/cls_vit.py']
model = dict(
    # DeiT-III's models_v2.py: the same drop-path rate in every block, LayerScale starting at 1e-4
    # (timm's 1e-6 is an inference-time default; loading a checkpoint overwrites it either way)
    backbone=dict(drop_path_schedule='uniform', layer_scale_init=1e-4),
    data_preprocessor=dict(mixup=dict(mixup_alpha=0.8, cutmix_alpha=1.0, label_smoothing=0.0)),
    loss=dict(_delete_=True, type='BinaryCrossEntropy', smoothing=0.0, target_threshold=0.0))
# No weight decay on 1-d parameters (norms, biases, LayerScale, gates' biases) nor on the tokens and
# position embedding, as timm / DeiT-III.
paramwise_cfg = dict(
    norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0,
    custom_keys={'pos_embed': dict(decay_mult=0.0), 'cls_token': dict(decay_mult=0.0),
                 'reg_token': dict(decay_mult=0.0)})
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Lamb', lr=3e-3, weight_decay=0.02),
    clip_grad=dict(max_norm=1.0),
    # Gradient accumulation: optimizer steps every `accumulative_counts` iterations (Base uses 2).
    accumulative_counts=1,
    paramwise_cfg=paramwise_cfg)
max_epochs = 800
warmup_epochs = 5
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, eta_min=1e-5, by_epoch=True,
         begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# lr is for 2048 images per optimizer step; --auto-scale-lr scales it linearly with the real batch.
# mmengine counts the loader batch x GPUs, not the accumulation: configs with accumulative_counts=k
# set base_batch_size = 2048 / k.
auto_scale_lr = dict(base_batch_size=2048, enable=False)
