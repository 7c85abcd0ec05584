# Transfer of the ImageNet-1k B-size gated attention (elementwise gate on SDPA) to DTD
# (EDIT paper, Tables 2 and 4).
_base_ = ['./_base_/schedules/cls_deit3_transfer.py', './_base_/datasets/cls_transfer_dtd.py',
          './_base_/cls_runtime.py']
model = dict(
    num_classes=47,
    backbone=dict(type='GatedViT', gate='elementwise', arch='base', drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/cls_gated_b_in1k.pth')))
