# S-size DeiT-III ViT (the control) pretrained on ImageNet-21k at 224,
# fine-tuned on ImageNet-1k at 224x224 (EDIT paper, Fig. 4b and Table 3 (b)),
# DeiT-III 21k -> 1k fine-tuning recipe (drop path 0.05 for S).
_base_ = ['./_base_/schedules/cls_deit3_in21k_ft_in1k.py', './_base_/datasets/imagenet1k_3aug_src.py',
          './_base_/cls_runtime.py']
model = dict(
    backbone=dict(type='PlainViT', arch='small', img_size=224, drop_path_rate=0.05,
                  init_cfg=dict(type='Pretrained', checkpoint='pretrain/cls_deit3_s_in21k.pth')))
