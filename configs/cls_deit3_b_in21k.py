# B-size DeiT-III ViT (the control) pretrained on ImageNet-21k (10450 classes), DeiT-III recipe
# (EDIT paper, Table 2, ImageNet-21k column).
_base_ = ['./_base_/schedules/cls_deit3_in21k.py', './_base_/datasets/imagenet21k_3aug.py',
          './_base_/cls_runtime.py']
model = dict(num_classes=10450, backbone=dict(type='PlainViT', arch='base', drop_path_rate=0.05))
# Base: 8 GPUs x 128 x 2 accumulation steps = 2048 per optimizer step (the EDIT paper accumulates too).
train_dataloader = dict(batch_size=128)
optim_wrapper = dict(accumulative_counts=2)
auto_scale_lr = dict(base_batch_size=1024)
