# Input normalisation of every segmentation config: ImageNet statistics, as in DeiT / DeiT-III pretraining.
data_preprocessor = dict(
    _scope_='mmseg',  # built by mmseg also where another project inherits this config as mmedit_vit::configs/...
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(512, 512))
