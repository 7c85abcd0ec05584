"""Attention-sink diagnostics of one or more backbones on a few images, compared on the same plots.

    python tools/analyze.py CONFIG [CONFIG ...] [--checkpoint PATH ...] --images FILES_OR_DIR --out DIR

CONFIG: a segmentation, detection or classification config of this project (its ``model.backbone``
and ``data_preprocessor`` normalisation are used) or a bare backbone config. ``--checkpoint``: one
file for all configs or one per config (``none`` keeps a config's own init_cfg); any file
``init_cfg=dict(type='Pretrained')`` accepts works (timm, DeiT-III, this project's checkpoints).

Writes ``metrics.json`` (per-layer lists of every metric that applies to each model), ``layer_curves.png``,
``norm_histograms.png`` and ``attention_maps_<name>.png`` (EDIT: decoder attention as in its Fig. 5;
others: the [CLS] row of self-attention).
"""
from mmedit_vit.apis.analyze import main

if __name__ == '__main__':
    main()
