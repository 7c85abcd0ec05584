# The detection demos' data: the generated COCO-format set (`python -m mmedit_vit.datasets.synthetic_coco
# data/synthetic_coco`: 160x160 images, at most 3 objects of 3 shapes, train2017/val2017 layout), resized and
# flipped for training; batch 4 in the main process (a few CPU minutes, no workers to start).
_base_ = 'mmdet::_base_/datasets/coco_instance.py'

data_root = 'data/synthetic_coco/'
metainfo = dict(classes=('square', 'disk', 'triangle'))  # mmedit_vit.datasets.synthetic_coco.CLASSES
img_scale = (160, 160)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadDetAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadDetAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=metainfo, filter_cfg=dict(filter_empty_gt=True, min_size=8),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=metainfo, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val2017.json')
test_evaluator = val_evaluator
