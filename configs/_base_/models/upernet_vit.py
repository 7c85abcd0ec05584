# UperNet on a plain ViT, as in XCiT and the CB paper: blocks 3, 5, 7, 11 brought to strides 4, 8, 16, 32
# (two transposed convolutions, one, identity, max-pool: mmseg's Feature2Pyramid), UPerHead and an
# auxiliary FCN head on the stride-16 map. UPerHead has 512 channels at every size, as XCiT's
# semantic_segmentation/configs/_base_/models/upernet_xcit_p16.py: only 512 reproduces the CB paper's Table 6
# parameter counts (34.1 / 53.5 / 127.0M for Ti / S / B); its "head dimension 192, 384, 512" are input widths.
# The upernet_vit_{t,s,b}.py pieces fill in the widths; top-level configs the backbone variant.
_base_ = ['./seg_data_preprocessor.py']
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    _scope_='mmseg',  # built by mmseg also where another project inherits this config as mmedit_vit::configs/...
    type='EncoderDecoder',
    data_preprocessor={{_base_.data_preprocessor}},
    # final_norm: the last LayerNorm on block 11's output, as in classification (its weights load too)
    backbone=dict(img_size=(512, 512), patch_size=16, drop_path_rate=0.1, out_indices=(3, 5, 7, 11),
                  final_norm=True),
    neck=dict(type='Feature2Pyramid', rescales=[4, 2, 1, 0.5], norm_cfg=norm_cfg),
    # mmseg's UPerHead and FCNHead; their losses resize the logits with GEMMs (mmedit_vit/models/decode_heads)
    decode_head=dict(
        type='MatmulResizeUPerHead',
        in_index=[0, 1, 2, 3],
        pool_scales=(1, 2, 3, 6),
        channels=512,
        dropout_ratio=0.1,
        num_classes=150,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(
        type='MatmulResizeFCNHead',
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
