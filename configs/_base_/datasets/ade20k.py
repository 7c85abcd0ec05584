# ADE20K (150 classes) with mmseg's augmentation: 512x512 crops from images resized to a 512 short side
# (ratio 0.5-2), flip and photometric distortion; single-scale test at (2048, 512); `tools/test.py --tta`
# uses tta_pipeline: ratios 0.5-1.75 and flip. Label files are read by LoadSegLabels (every value kept as
# written and checked against the 150 classes) in place of mmseg's LoadAnnotations (which casts to 8 bits).
_base_ = ['mmseg::_base_/datasets/ade20k.py']

num_classes = 150
crop_size = (512, 512)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadSegLabels', num_classes=num_classes, reduce_zero_label=True),
    dict(type='RandomResize', scale=(2048, 512), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2048, 512), keep_ratio=True),
    # labels after Resize: the metric compares at the label's own size
    dict(type='LoadSegLabels', num_classes=num_classes, reduce_zero_label=True),
    dict(type='PackSegInputs')
]
img_ratios = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
tta_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(
        type='TestTimeAug',
        transforms=[
            [dict(type='Resize', scale_factor=r, keep_ratio=True) for r in img_ratios],
            [dict(type='RandomFlip', prob=0., direction='horizontal'),
             dict(type='RandomFlip', prob=1., direction='horizontal')],
            [dict(type='LoadSegLabels', num_classes=num_classes, reduce_zero_label=True)],
            [dict(type='PackSegInputs')],
        ])
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
