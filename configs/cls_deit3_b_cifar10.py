# Transfer of the ImageNet-1k B-size DeiT-III ViT (the control) to CIFAR-10
# (EDIT paper, Tables 2 and 4).
_base_ = ['./_base_/schedules/cls_deit3_transfer.py', './_base_/datasets/cls_transfer_cifar10.py',
          './_base_/cls_runtime.py']
model = dict(
    num_classes=10,
    backbone=dict(type='PlainViT', arch='base', drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/cls_deit3_b_in1k.pth')))
