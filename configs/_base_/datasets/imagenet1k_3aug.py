# ImageNet-1k (data/imagenet/{train,val}/<synset>/...), DeiT-III pipeline: random resized crop,
# flip, 3-Augment (one of grayscale / solarize / blur), colour jitter 0.3; eval: resize + crop ratio 1.0.
# Normalisation, random erasing and Mixup/CutMix are batch steps of the model's ClsDataPreprocessor.
data_root = 'data/imagenet'
train_pipeline = [
    dict(type='LoadPILImage'),
    dict(type='TimmTransform', input_size=224, is_training=True, crop='rrc', hflip=0.5, auto_augment='3a',
         color_jitter=0.3, interpolation='bicubic'),
    dict(type='PackClsInputs'),
]
test_pipeline = [
    dict(type='LoadPILImage'),
    dict(type='TimmTransform', input_size=224, is_training=False, crop_pct=1.0, interpolation='bicubic'),
    dict(type='PackClsInputs'),
]
train_dataloader = dict(
    batch_size=256,  # x 8 GPUs = 2048 (auto_scale_lr.base_batch_size)
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    drop_last=True,
    sampler=dict(type='RepeatAugSampler', num_repeats=3, shuffle=True),
    dataset=dict(type='ImageFolderDataset', data_root=data_root, data_prefix=dict(img_path='train'),
                 classes='imagenet-1k', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='ImageFolderDataset', data_root=data_root, data_prefix=dict(img_path='val'),
                 classes='imagenet-1k', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='TopKAccuracy', topk=(1, 5))
test_evaluator = val_evaluator
