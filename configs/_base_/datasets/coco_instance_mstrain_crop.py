# COCO instances with the XCiT / Swin Mask R-CNN training augmentation (the CB paper follows both, Sec. 4.4):
# flip, then one of two policies: shorter side drawn from 480, 512, ..., 800 (longer side at most 1333); or
# shorter side 400/500/600, a random crop of 384-600 px, then the same 480-800 choice. XCiT's
# detection/configs/xcit/mask_rcnn_xcit_*_3x_coco.py and Swin's mask_rcnn_swin_*_mstrain_480-800_adamw_*_coco.py
# write it with mmdet 2's AutoAugment; mmdet 3's configs/swin/mask-rcnn_swin-t-p4-w7_fpn_ms-crop-3x_coco.py
# with RandomChoice, as here. Evaluation stays single-scale 1333x800 (mmdet's coco_instance.py). Annotations are
# read by LoadDetAnnotations: mmdet's LoadAnnotations, refusing an RLE mask whose size is not its image's.
_base_ = 'mmdet::_base_/datasets/coco_instance.py'

multi_scales = [(1333, 480), (1333, 512), (1333, 544), (1333, 576), (1333, 608), (1333, 640), (1333, 672),
                (1333, 704), (1333, 736), (1333, 768), (1333, 800)]
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadDetAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomChoice',
        transforms=[
            [dict(type='RandomChoiceResize', scales=multi_scales, keep_ratio=True)],
            [
                dict(type='RandomChoiceResize', scales=[(1333, 400), (1333, 500), (1333, 600)], keep_ratio=True),
                dict(type='RandomCrop', crop_type='absolute_range', crop_size=(384, 600), allow_negative_crop=True),
                dict(type='RandomChoiceResize', scales=multi_scales, keep_ratio=True),
            ],
        ]),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True),
    dict(type='LoadDetAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
