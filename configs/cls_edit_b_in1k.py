# B-size EDIT ([CLS] refined by a shared decoder) on ImageNet-1k, DeiT-III recipe (EDIT paper, Table 2).
_base_ = ['./_base_/schedules/cls_deit3_in1k.py', './_base_/datasets/imagenet1k_3aug.py',
          './_base_/cls_runtime.py']
model = dict(backbone=dict(type='EDITViT', arch='base', drop_path_rate=0.05))
# Base: 8 GPUs x 128 x 2 accumulation steps = 2048 per optimizer step (the EDIT paper accumulates too).
train_dataloader = dict(batch_size=128)
optim_wrapper = dict(accumulative_counts=2)
auto_scale_lr = dict(base_batch_size=1024)
