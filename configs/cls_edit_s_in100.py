# S-size EDIT ([CLS] refined by a shared decoder) on ImageNet-100, DeiT-III recipe (gated-attention proposal).
_base_ = ['./_base_/schedules/cls_deit3_in1k.py', './_base_/datasets/imagenet100_3aug.py',
          './_base_/cls_runtime_sink_stats.py']
model = dict(num_classes=100, backbone=dict(type='EDITViT', arch='small', drop_path_rate=0.05))
