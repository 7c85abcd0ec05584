# COCO 1x (12 epochs, lr steps at 8 and 11) with the CB paper's detection optimiser: AdamW,
# lr 1e-4 for a total batch of 16 (lr = 1e-4 * batch / 16; --auto-scale-lr applies it), weight decay 0.05.
# No weight decay on 1-D parameters (norms, biases, LayerScale), position embedding and tokens (timm's rule).
# Layer-wise lr decay is off (1.0); e.g. --cfg-options optim_wrapper.paramwise_cfg.layer_decay_rate=0.75
_base_ = 'mmdet::_base_/schedules/schedule_1x.py'

optim_wrapper = dict(
    _scope_='mmdet',  # built by mmdet also where another project inherits this config as mmedit_vit::configs/...
    _delete_=True,
    type='OptimWrapper',
    constructor='ViTLayerDecayOptimWrapperConstructor',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(
        layer_decay_rate=1.0,
        flat_decay_mult=0.0,
        custom_keys={
            'backbone.pos_embed': dict(decay_mult=0.0),
            'backbone.cls_token': dict(decay_mult=0.0),
            'backbone.reg_token': dict(decay_mult=0.0),
        }))
auto_scale_lr = dict(enable=False, base_batch_size=16)
