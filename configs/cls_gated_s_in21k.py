# S-size gated attention (headwise gate on SDPA) pretrained on ImageNet-21k (10450 classes), DeiT-III recipe
# (EDIT paper, Table 2, ImageNet-21k column).
_base_ = ['./_base_/schedules/cls_deit3_in21k.py', './_base_/datasets/imagenet21k_3aug.py',
          './_base_/cls_runtime.py']
custom_imports = dict(imports=['mmedit_vit'], allow_failed_imports=False)
model = dict(num_classes=10450, backbone=dict(type='GatedViT', arch='small', drop_path_rate=0.05))
