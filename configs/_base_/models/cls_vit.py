# Image classifier over a backbone of the family; pool='auto' reads [CLS] (EDIT: its decoder output),
# or averages the patch tokens of a backbone without [CLS]. Trained from scratch (no init_cfg).
model = dict(
    type='ImageClassifier',
    backbone=dict(type='PlainViT', arch='small', img_size=224, patch_size=16, drop_path_rate=0.05),
    num_classes=1000,
    pool='auto',
    data_preprocessor=dict(type='ClsDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375]),
    loss=dict(type='LabelSmoothingCrossEntropy', smoothing=0.0))
