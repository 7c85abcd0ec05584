# ViT-B of DeiT (no LayerScale) under the DeiT recipe: the control of the CB paper's ImageNet-1k
# comparison (cls_cb_*_in1k.py: the same ViT and recipe with Context Broadcasting).
_base_ = ['./_base_/schedules/cls_deit_in1k.py', './_base_/datasets/imagenet1k_randaug.py',
          './_base_/cls_runtime.py']
model = dict(backbone=dict(type='PlainViT', arch='base', drop_path_rate=0.1))
