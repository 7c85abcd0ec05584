# Transfer sets in folder form (<data_root>/{train,val}/<class>/...), EDIT paper Table 2 transfer column:
# simple random crop, no flip, 3-Augment, no colour jitter, images resized to 224. The dataset files
# (cls_transfer_<name>.py) set data_root and num_classes.
_base_ = ['./imagenet1k_3aug.py']
train_pipeline = [
    dict(type='LoadPILImage'),
    dict(type='TimmTransform', input_size=224, is_training=True, crop='src', hflip=0.0, auto_augment='3a',
         color_jitter=None, interpolation='bicubic'),
    dict(type='PackClsInputs'),
]
train_dataloader = dict(
    batch_size=96,  # x 8 GPUs = 768 (auto_scale_lr.base_batch_size)
    sampler=dict(_delete_=True, type='DefaultSampler', shuffle=True),
    dataset=dict(classes=None, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(classes='train'))
test_dataloader = val_dataloader
