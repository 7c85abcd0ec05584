# Segmenter (Strudel et al., 2021): a plain ViT and a 2-layer mask transformer decoding class embeddings
# against patch tokens. The segmenter_vit_{t,s,b}.py pieces fill in the widths; top-level configs the variant.
_base_ = ['./seg_data_preprocessor.py']
model = dict(
    _scope_='mmseg',  # built by mmseg also where another project inherits this config as mmedit_vit::configs/...
    type='EncoderDecoder',
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(img_size=(512, 512), patch_size=16, drop_path_rate=0.1, out_indices=-1, final_norm=True),
    # mmseg's SegmenterMaskTransformerHead; its loss brings the 32x32 logits to 512x512 with GEMMs
    # (mmedit_vit/models/decode_heads: same values, no atomic scatter in the backward)
    decode_head=dict(
        type='MatmulResizeSegmenterMaskTransformerHead',
        num_classes=150,
        num_layers=2,
        dropout_ratio=0.0,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='slide', crop_size=(512, 512), stride=(480, 480)))
