# Demo / test run of cls_edit_t_in1k.py on a generated 4-class folder dataset (48 px stripes; written by
# tools/demo_classification.py or make_synthetic_folder): same model, recipe and pipeline kinds, with
# only the data and the schedule made small enough for a CPU.
_base_ = ['../cls_edit_t_in1k.py']
data_root = 'data/synthetic_cls'
img_size = 48
model = dict(num_classes=4)
train_pipeline = [
    dict(type='LoadPILImage'),
    dict(type='TimmTransform', input_size=img_size, is_training=True, crop='rrc', scale=(0.5, 1.0), hflip=0.5,
         auto_augment='3a', color_jitter=0.3, interpolation='bicubic'),
    dict(type='PackClsInputs'),
]
test_pipeline = [
    dict(type='LoadPILImage'),
    dict(type='TimmTransform', input_size=img_size, is_training=False, crop_pct=1.0, interpolation='bicubic'),
    dict(type='PackClsInputs'),
]
train_dataloader = dict(
    batch_size=16, num_workers=0, persistent_workers=False, pin_memory=False,
    sampler=dict(type='RepeatAugSampler', num_repeats=3),
    dataset=dict(data_root=data_root, classes=None, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32, num_workers=0, persistent_workers=False, pin_memory=False,
    dataset=dict(data_root=data_root, classes='train', pipeline=test_pipeline))
test_dataloader = val_dataloader
max_epochs = 8
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, eta_min=1e-5, by_epoch=True, begin=1, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval=1, max_keep_ckpts=2))
auto_scale_lr = dict(base_batch_size=16)
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
