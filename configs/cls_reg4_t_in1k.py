# T-size ViT with 4 registers on ImageNet-1k, DeiT-III recipe (EDIT paper, Table 2).
_base_ = ['./_base_/schedules/cls_deit3_in1k.py', './_base_/datasets/imagenet1k_3aug.py',
          './_base_/cls_runtime.py']
model = dict(backbone=dict(type='PlainViT', num_registers=4, arch='tiny', drop_path_rate=0.0))
