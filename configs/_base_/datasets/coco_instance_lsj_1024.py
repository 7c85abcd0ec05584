# COCO instances with ViTDet's large-scale jitter at 1024x1024: flip, resize to fit 1024x1024 scaled by a
# factor drawn from [0.1, 2.0], a 1024x1024 crop (smaller images kept whole), padding to 1024x1024; testing at
# the longer side 1024, padded to 1024x1024. mmdet's projects/ViTDet/configs/lsj-100e_coco-instance.py
# (detectron2's projects/ViTDet/configs/common/coco_loader_lsj.py: ResizeScale 0.1-2.0, FixedSizeCrop 1024),
# with the annotations read by LoadDetAnnotations (mmdet's loader, refusing an RLE mask of the wrong size).
# Batch 8 per GPU x 8 GPUs = 64 (detectron2 total_batch_size=64).
_base_ = 'mmdet::_base_/datasets/coco_instance.py'

image_size = (1024, 1024)
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadDetAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomResize', scale=image_size, ratio_range=(0.1, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_type='absolute_range', crop_size=image_size, recompute_bbox=True,
         allow_negative_crop=True),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1e-2, 1e-2)),
    dict(type='Pad', size=image_size, pad_val=dict(img=(114, 114, 114))),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='Pad', size=image_size, pad_val=dict(img=(114, 114, 114))),
    dict(type='LoadDetAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(batch_size=8, num_workers=8, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
