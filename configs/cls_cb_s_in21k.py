# S-size Context Broadcasting in the upper half pretrained on ImageNet-21k (10450 classes), DeiT-III recipe
# (EDIT paper, Table 2, ImageNet-21k column).
_base_ = ['./_base_/schedules/cls_deit3_in21k.py', './_base_/datasets/imagenet21k_3aug.py',
          './_base_/cls_runtime.py']
model = dict(num_classes=10450, backbone=dict(type='CBViT', layer_scale_init=None, arch='small', drop_path_rate=0.05))
