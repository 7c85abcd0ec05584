# S-size gated attention (elementwise gate on SDPA) pretrained on ImageNet-21k (10450 classes), DeiT-III recipe
# (EDIT paper, Table 2, ImageNet-21k column).
_base_ = ['./_base_/schedules/cls_deit3_in21k.py', './_base_/datasets/imagenet21k_3aug.py',
          './_base_/cls_runtime.py']
model = dict(num_classes=10450, backbone=dict(type='GatedViT', gate='elementwise', arch='small', drop_path_rate=0.05))
