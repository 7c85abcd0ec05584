# B-size DeiT-III ViT (the control) pretrained on ImageNet-21k at 224,
# fine-tuned on ImageNet-1k at 384x384 (EDIT paper, Fig. 4b and Table 3 (b)),
# DeiT-III 21k -> 1k fine-tuning recipe (drop path 0.15 for B).
_base_ = ['./_base_/schedules/cls_deit3_in21k_ft_in1k.py', './_base_/datasets/imagenet1k_3aug_src_384.py',
          './_base_/cls_runtime.py']
model = dict(
    backbone=dict(type='PlainViT', arch='base', img_size=384, drop_path_rate=0.15,
                  init_cfg=dict(type='Pretrained', checkpoint='pretrain/cls_deit3_b_in21k.pth')))
# 8 GPUs x 64 x 4 accumulation steps = 2048 per optimizer step
train_dataloader = dict(batch_size=64)
optim_wrapper = dict(accumulative_counts=4)
auto_scale_lr = dict(base_batch_size=512)
