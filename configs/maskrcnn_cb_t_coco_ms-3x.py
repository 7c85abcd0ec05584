# Mask R-CNN + FPN on COCO, 3x schedule (36 epochs), XCiT / Swin multi-scale training (CB paper,
# Sec. 4.4); ViT-T backbone: Context Broadcasting in blocks 6, 8, 9, 10
# (the upper half without the blocks that feed the neck, CB paper Sec. 4.4), on the DeiT ViT (no LayerScale).
_base_ = [
    './_base_/models/mask_rcnn_vit_t_fpn.py', './_base_/datasets/coco_instance_mstrain_crop.py',
    './_base_/schedules/det_adamw_3x.py', './_base_/det_runtime.py'
]
model = dict(
    backbone=dict(
        type='CBViT', layer_scale_init=None, cb_layers=[6, 8, 9, 10],
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/cls_cb_t_in1k.pth')))
