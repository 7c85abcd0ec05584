# ImageNet-1k, DeiT pipeline (CB paper): random resized crop, flip, RandAugment m9 (mstd 0.5, increasing);
# random erasing 0.25 runs on the batch (ClsDataPreprocessor, set by the DeiT recipe); eval crop 0.875.
_base_ = ['./imagenet1k_3aug.py']
train_pipeline = [
    dict(type='LoadPILImage'),
    dict(type='TimmTransform', input_size=224, is_training=True, crop='rrc', hflip=0.5,
         auto_augment='rand-m9-mstd0.5-inc1', color_jitter=0.4, interpolation='bicubic'),
    dict(type='PackClsInputs'),
]
test_pipeline = [
    dict(type='LoadPILImage'),
    dict(type='TimmTransform', input_size=224, is_training=False, crop_pct=0.875, interpolation='bicubic'),
    dict(type='PackClsInputs'),
]
train_dataloader = dict(batch_size=128,  # x 8 GPUs = 1024 (auto_scale_lr.base_batch_size)
                        dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
