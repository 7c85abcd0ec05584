# ImageNet-21k-style root (data/imagenet21k/{train,val}/<synset>/...). The EDIT paper keeps the 10450
# classes with at least 500 images and holds out 50 images per class for val. DeiT-III's 21k column:
# simple random crop (no random resized crop), flip, 3-Augment, colour jitter 0.3, no repeated augmentation.
_base_ = ['./imagenet1k_3aug.py']
data_root = 'data/imagenet21k'
train_pipeline = [
    dict(type='LoadPILImage'),
    dict(type='TimmTransform', input_size=224, is_training=True, crop='src', hflip=0.5, auto_augment='3a',
         color_jitter=0.3, interpolation='bicubic'),
    dict(type='PackClsInputs'),
]
train_dataloader = dict(
    sampler=dict(_delete_=True, type='DefaultSampler', shuffle=True),
    dataset=dict(data_root=data_root, classes=None, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(data_root=data_root, classes='train'))
test_dataloader = val_dataloader
