# XCiT / CB paper UperNet schedule: AdamW lr 6e-5, betas (0.9, 0.999), weight decay 0.01 (none on position
# embedding, tokens and norms), 1500 warm-up iterations then poly (power 1) decay, 8 GPUs x 2 images.
# Layer-wise lr decay is off (1.0); e.g. --cfg-options optim_wrapper.paramwise_cfg.layer_decay_rate=0.65
# (block i at lr * rate ** (12 - i), embeddings/[CLS]/registers one step below block 0, the EDIT decoder,
# final norm, neck and heads at lr).
_base_ = ['mmseg::_base_/schedules/schedule_160k.py']
max_iters = 160000
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    constructor='ViTLayerDecayOptimWrapperConstructor',
    optimizer=dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(layer_decay_rate=1.0, custom_keys=dict(
        pos_embed=dict(decay_mult=0.0), cls_token=dict(decay_mult=0.0), reg_token=dict(decay_mult=0.0),
        norm=dict(decay_mult=0.0))))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=1500, end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=16000)
auto_scale_lr = dict(enable=False, base_batch_size=16)
