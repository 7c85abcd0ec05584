# ViTDet's 100-epoch schedule: 184375 iterations at batch 64 (100 epochs of COCO train2017's 118k images), lr x0.1
# at iterations 163889 and 177546 (88 and 96 epochs), linear warm-up over 250 iterations from 0.001; AdamW
# lr 1e-4, betas (0.9, 0.999), weight decay 0.1, layer-wise lr decay 0.7 over the 12 blocks. detectron2's
# projects/ViTDet/configs/COCO/mask_rcnn_vitdet_b_100ep.py and common/optim.py; mmdet's
# projects/ViTDet/configs/lsj-100e_coco-instance.py. No weight decay on 1-D parameters (norms, biases,
# LayerScale), the position embedding and the tokens (mmdet's ViTDet constructor; detectron2 decays biases).
# Mixed precision as the references: tools/train.py --amp (or --amp-dtype bfloat16). Checkpoints and
# validation every 5000 iterations (configs/_base_/det_runtime_iter.py), and once more at the end (180001 =
# 184375 // 5000 * 5000 + 1). Literal numbers, no top-level variables: a config that replaces this schedule (the
# demo) dumps only what it runs.
train_cfg = dict(type='IterBasedTrainLoop', max_iters=184375, val_interval=5000,
                 dynamic_intervals=[(180001, 184375)])
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=250),
    dict(type='MultiStepLR', begin=0, end=184375, by_epoch=False, milestones=[163889, 177546], gamma=0.1),
]
optim_wrapper = dict(
    _scope_='mmdet',  # built by mmdet also where another project inherits this config as mmedit_vit::configs/...
    type='OptimWrapper',
    constructor='ViTLayerDecayOptimWrapperConstructor',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.1),
    paramwise_cfg=dict(
        layer_decay_rate=0.7,
        flat_decay_mult=0.0,
        custom_keys={
            'backbone.pos_embed': dict(decay_mult=0.0),
            'backbone.cls_token': dict(decay_mult=0.0),
            'backbone.reg_token': dict(decay_mult=0.0),
        }))
auto_scale_lr = dict(enable=False, base_batch_size=64)
