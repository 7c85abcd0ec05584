# UperNet on a plain ViT, as in XCiT and the CB paper: blocks 3, 5, 7, 11 brought to strides 4, 8, 16, 32
# (two transposed convolutions, one, identity, max-pool: mmseg's Feature2Pyramid), UPerHead and an
# auxiliary FCN head on the stride-16 map. Top-level configs fill in the backbone and the widths.
_base_ = ['./seg_data_preprocessor.py']
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    type='EncoderDecoder',
    data_preprocessor={{_base_.data_preprocessor}},
    # final_norm: the last LayerNorm on block 11's output, as in classification (its weights load too)
    backbone=dict(img_size=(512, 512), patch_size=16, drop_path_rate=0.1, out_indices=(3, 5, 7, 11),
                  final_norm=True),
    neck=dict(type='Feature2Pyramid', rescales=[4, 2, 1, 0.5], norm_cfg=norm_cfg),
    decode_head=dict(
        type='UPerHead',
        in_index=[0, 1, 2, 3],
        pool_scales=(1, 2, 3, 6),
        dropout_ratio=0.1,
        num_classes=150,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(
        type='FCNHead',
        in_index=2,
        channels=256,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=150,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
