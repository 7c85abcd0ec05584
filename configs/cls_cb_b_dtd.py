# Transfer of the ImageNet-1k B-size Context Broadcasting in the upper half to DTD
# (EDIT paper, Tables 2 and 4).
_base_ = ['./_base_/schedules/cls_deit3_transfer.py', './_base_/datasets/cls_transfer_dtd.py',
          './_base_/cls_runtime.py']
model = dict(
    num_classes=47,
    backbone=dict(type='CBViT', layer_scale_init=None, arch='base', drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/cls_cb_b_in1k.pth')))
