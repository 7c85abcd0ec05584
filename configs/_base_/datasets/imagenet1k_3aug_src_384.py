# imagenet1k_3aug_src.py at 384x384 (fine-tuning a 21k checkpoint at the higher resolution).
_base_ = ['./imagenet1k_3aug.py']
img_size = 384
train_pipeline = [
    dict(type='LoadPILImage'),
    dict(type='TimmTransform', input_size=img_size, is_training=True, crop='src', hflip=0.5, auto_augment='3a',
         color_jitter=0.3, interpolation='bicubic'),
    dict(type='PackClsInputs'),
]
test_pipeline = [
    dict(type='LoadPILImage'),
    dict(type='TimmTransform', input_size=img_size, is_training=False, crop_pct=1.0, interpolation='bicubic'),
    dict(type='PackClsInputs'),
]
train_dataloader = dict(
    sampler=dict(_delete_=True, type='DefaultSampler', shuffle=True),
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
