# Mask R-CNN + FPN on COCO, 1x schedule (12 epochs), XCiT / Swin multi-scale training (CB paper,
# Sec. 4.4); ViT-B backbone: Context Broadcasting in blocks 6, 8, 9, 10
# (the upper half without the blocks that feed the neck, CB paper Sec. 4.4), on the DeiT ViT (no LayerScale).
_base_ = [
    './_base_/models/mask_rcnn_vit_b_fpn.py', './_base_/datasets/coco_instance_mstrain_crop.py',
    './_base_/schedules/det_adamw_1x.py', './_base_/det_runtime.py'
]
model = dict(
    backbone=dict(
        type='CBViT', layer_scale_init=None, cb_layers=[6, 8, 9, 10],
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/cls_cb_b_in1k.pth')))
