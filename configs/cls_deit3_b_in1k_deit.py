# B-size DeiT-III ViT under the DeiT recipe: the control of the CB paper's comparison
# (cls_cb_*_in1k.py use this recipe too).
_base_ = ['./_base_/schedules/cls_deit_in1k.py', './_base_/datasets/imagenet1k_randaug.py',
          './_base_/cls_runtime.py']
custom_imports = dict(imports=['mmedit_vit'], allow_failed_imports=False)
model = dict(backbone=dict(type='PlainViT', arch='base', drop_path_rate=0.1))
