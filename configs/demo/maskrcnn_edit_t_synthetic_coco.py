# The detection demo: configs/maskrcnn_edit_t_coco.py (Mask R-CNN + FPN, EDIT ViT-T) trained from scratch on
# the generated COCO-format set (`python -m mmedit_vit.datasets.synthetic_coco data/synthetic_coco`) for a few
# CPU minutes. Only data (160x160 images, 3 classes, RoI budgets to match) and schedule differ from the real
# config.
_base_ = ['../maskrcnn_edit_t_coco.py']

# ---- data ----
data_root = 'data/synthetic_coco/'
metainfo = dict(classes=('square', 'disk', 'triangle'))
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
model = dict(
    backbone=dict(init_cfg=None),  # from scratch: no pretrained file needed
    roi_head=dict(bbox_head=dict(num_classes=3), mask_head=dict(num_classes=3)),
    # RoI budgets sized to this data (at most 3 objects in a 160x160 image; COCO has up to ~100 in 800x1333):
    # the mask head on 128 positive RoIs per image would make a CPU step take tens of seconds
    train_cfg=dict(rpn_proposal=dict(nms_pre=1000, max_per_img=300), rcnn=dict(sampler=dict(num=64))),
    test_cfg=dict(rpn=dict(nms_pre=1000, max_per_img=300), rcnn=dict(max_per_img=20)))

# ---- schedule ----
max_epochs = 6
optim_wrapper = dict(optimizer=dict(lr=3e-4))  # from scratch, batch 4: higher than 1e-4 * 4 / 16
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=30),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[5], gamma=0.1),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(logger=dict(interval=8), checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
randomness = dict(seed=0)
