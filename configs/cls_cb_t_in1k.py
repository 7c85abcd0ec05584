# T-size Context Broadcasting in the upper half on ImageNet-1k, DeiT recipe as in the CB paper (no repeated
# augmentation for Ti/S).
_base_ = ['./_base_/schedules/cls_deit_in1k.py', './_base_/datasets/imagenet1k_randaug.py',
          './_base_/cls_runtime.py']
model = dict(backbone=dict(type='CBViT', layer_scale_init=None, arch='tiny', drop_path_rate=0.1))
train_dataloader = dict(sampler=dict(_delete_=True, type='DefaultSampler', shuffle=True))
