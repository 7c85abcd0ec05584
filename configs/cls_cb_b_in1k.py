# B-size Context Broadcasting in the upper half on ImageNet-1k, DeiT recipe as in the CB paper (no repeated
# augmentation for Ti/S; Base: 10 warmup epochs and drop path raised to 0.2).
_base_ = ['./_base_/schedules/cls_deit_in1k.py', './_base_/datasets/imagenet1k_randaug.py',
          './_base_/cls_runtime.py']
model = dict(backbone=dict(type='CBViT', layer_scale_init=None, arch='base', drop_path_rate=0.2))
warmup_epochs = 10
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=300 - warmup_epochs, eta_min=1e-5, by_epoch=True,
         begin=warmup_epochs, end=300, convert_to_iter_based=True),
]
