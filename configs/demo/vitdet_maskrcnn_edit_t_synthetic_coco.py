# The ViTDet detection demo: configs/vitdet_maskrcnn_edit_s_coco.py (windowed EDIT ViT with global blocks 2, 5, 8,
# 11, relative positions, simple feature pyramid, LN heads, LSJ) at ViT-T width, trained from scratch on the
# generated COCO-format set (configs/_base_/datasets/synthetic_coco.py), about 13 CPU minutes (docs/vitdet.md):
#     python tools/demo_detection.py --config configs/demo/vitdet_maskrcnn_edit_t_synthetic_coco.py
# What differs from the real config: width, sizes (160x160 images: a 10x10 token map, 5x5 windows), a milder
# jitter, RoI budgets, and a short epoch-based schedule without layer decay (nothing pretrained to keep).
# From random weights the simple pyramid does not train the box classifier in six epochs (bbox mAP 0.002; the
# FPN demo reached 0.45 in six epochs): the demo shows the ViTDet path running, not a trained detector (docs/vitdet.md).
_base_ = [
    '../_base_/models/vitdet_mask_rcnn_vit_s.py', '../_base_/datasets/synthetic_coco.py',
    '../_base_/schedules/vitdet_adamw_100e.py', '../_base_/det_runtime.py'
]

# ---- data: LSJ at 160x160 (scale 0.5-1.5 instead of 0.1-2.0), padded to 160x160 ----
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadDetAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomResize', scale={{_base_.img_scale}}, ratio_range=(0.5, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_type='absolute_range', crop_size={{_base_.img_scale}}, recompute_bbox=True,
         allow_negative_crop=True),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1e-2, 1e-2)),
    dict(type='Pad', size={{_base_.img_scale}}, pad_val=dict(img=(114, 114, 114))),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

# ---- model: EDIT ViT-T, 5x5 windows on the 10x10 map ----
model = dict(
    data_preprocessor=dict(batch_augments=[dict(type='BatchFixedSizePad', size={{_base_.img_scale}}, pad_mask=True)]),
    # from scratch; EDIT keeps its [CLS] outside the sequence
    backbone=dict(type='EDITViT', with_cls_token=True, arch='tiny', img_size=160, window_size=5, init_cfg=None),
    neck=dict(backbone_channel=192, in_channels=[48, 96, 192, 192]),
    roi_head=dict(bbox_head=dict(num_classes=3), mask_head=dict(num_classes=3)),
    # RoI budgets sized to this data (at most 3 objects in a 160x160 image), as the other detection demo
    train_cfg=dict(rpn_proposal=dict(nms_pre=1000, max_per_img=300), rcnn=dict(sampler=dict(num=64))),
    test_cfg=dict(rpn=dict(nms_pre=1000, max_per_img=300), rcnn=dict(max_per_img=20)))

# ---- schedule: epochs and lr as the other detection demo ----
max_epochs = 6
optim_wrapper = dict(optimizer=dict(lr=3e-4), paramwise_cfg=dict(layer_decay_rate=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=30),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[5], gamma=0.1),
]
train_cfg = dict(_delete_=True, type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(logger=dict(interval=8), checkpoint=dict(by_epoch=True, interval=max_epochs, max_keep_ckpts=1))
randomness = dict(seed=0)
