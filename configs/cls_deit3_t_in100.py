# T-size DeiT-III ViT (the control) on ImageNet-100, DeiT-III recipe (gated-attention proposal).
_base_ = ['./_base_/schedules/cls_deit3_in1k.py', './_base_/datasets/imagenet100_3aug.py',
          './_base_/cls_runtime_sink_stats.py']
model = dict(num_classes=100, backbone=dict(type='PlainViT', arch='tiny', drop_path_rate=0.0))
