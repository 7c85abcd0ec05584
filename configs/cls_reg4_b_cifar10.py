# Transfer of the ImageNet-1k B-size ViT with 4 registers to CIFAR-10
# (EDIT paper, Tables 2 and 4).
_base_ = ['./_base_/schedules/cls_deit3_transfer.py', './_base_/datasets/cls_transfer_cifar10.py',
          './_base_/cls_runtime.py']
model = dict(
    num_classes=10,
    backbone=dict(type='PlainViT', num_registers=4, arch='base', drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/cls_reg4_b_in1k.pth')))
