# Transfer of the ImageNet-1k B-size EDIT ([CLS] refined by a shared decoder) to Caltech-256 (256 categories + clutter)
# (EDIT paper, Tables 2 and 4).
_base_ = ['./_base_/schedules/cls_deit3_transfer.py', './_base_/datasets/cls_transfer_caltech256.py',
          './_base_/cls_runtime.py']
model = dict(
    num_classes=257,
    backbone=dict(type='EDITViT', arch='base', drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/cls_edit_b_in1k.pth')))
