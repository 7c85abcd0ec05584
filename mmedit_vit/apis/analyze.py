"""Attention-sink diagnostics of one or more backbones on a few images, compared on the same plots.

    python tools/analyze.py CONFIG [CONFIG ...] [--checkpoint PATH ...] --images FILES_OR_DIR --out DIR

CONFIG: a segmentation, detection or classification config of this project (its ``model.backbone``
and ``data_preprocessor`` normalisation are used) or a bare backbone config. ``--checkpoint``: one
file for all configs or one per config (``none`` keeps a config's own init_cfg); any file
``init_cfg=dict(type='Pretrained')`` accepts works (timm, DeiT-III, this project's checkpoints).

Writes ``metrics.json`` (per-layer lists of every metric that applies to each model), ``layer_curves.png``,
``norm_histograms.png`` and ``attention_maps_<name>.png`` (EDIT: decoder attention as in its Fig. 5;
others: the [CLS] row of self-attention). A backbone with windowed attention (``window_size`` > 0, ViTDet)
also gets the per-window sink measures of ``mmedit_vit.analysis.window_sinks`` in every block's
statistics and ``window_maps_<name>.png``: per block, the attention each patch receives within its window,
with the high-norm tokens circled.
"""
import argparse
import json
import os
import os.path as osp
from typing import Dict, List

IMAGE_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')


def image_files(items: List[str]) -> List[str]:
    """Files given directly plus the images found (sorted) in the directories given."""
    files = []
    for item in items:
        if osp.isdir(item):
            files += sorted(osp.join(item, f) for f in os.listdir(item) if f.lower().endswith(IMAGE_EXTS))
        elif osp.isfile(item):
            files.append(item)
        else:
            raise FileNotFoundError(f'--images entry {item!r} is neither a file nor a directory')
    if not files:
        raise FileNotFoundError(f'no images ({", ".join(IMAGE_EXTS)}) found in {items}')
    return files


def load_images(files: List[str], size: int):
    """(B, 3, size, size) float RGB pixels in [0, 255]."""
    import numpy as np
    import torch
    from PIL import Image
    arrays = [np.asarray(Image.open(f).convert('RGB').resize((size, size), Image.BILINEAR), dtype=np.float32)
              for f in files]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


def run_names(configs: List[str]) -> List[str]:
    stems = [osp.splitext(osp.basename(c))[0] for c in configs]
    return [s if stems.count(s) == 1 else f'{s}_{i}' for i, s in enumerate(stems)]


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('configs', nargs='+', metavar='CONFIG')
    p.add_argument('--checkpoint', nargs='+', default=None,
                   help='one checkpoint for every config, or one per config ("none": the config\'s own init_cfg)')
    p.add_argument('--missing-ok', nargs='*', default=[],
                   help="modules a plain checkpoint lacks, kept at their init (e.g. decoder for EDIT from timm)")
    p.add_argument('--random-init', action='store_true',
                   help='configs without --checkpoint keep the initialisation instead of loading their init_cfg')
    p.add_argument('--images', nargs='+', required=True, help='image files and/or directories')
    p.add_argument('--out', required=True, help='output directory')
    p.add_argument('--img-size', type=int, default=224, help='images are resized to this square size')
    p.add_argument('--max-images', type=int, default=8, help='use at most this many images')
    p.add_argument('--map-images', type=int, default=2, help='images drawn in the attention-map figures')
    p.add_argument('--norm-threshold', type=float, default=None,
                   help='high-norm token threshold (default: 150, the registers paper\'s criterion)')
    p.add_argument('--gate-threshold', type=float, default=None,
                   help='gate scores below it count as closed (default 0.1)')
    args = p.parse_args(argv)
    if args.checkpoint is not None and len(args.checkpoint) not in (1, len(args.configs)):
        p.error(f'--checkpoint takes 1 path or {len(args.configs)} (one per config), got {len(args.checkpoint)}')
    for name in ('img_size', 'max_images', 'map_images'):
        if getattr(args, name) < 1:
            p.error(f'--{name.replace("_", "-")} must be >= 1, got {getattr(args, name)}')
    return args


def main(argv=None) -> Dict[str, dict]:
    args = parse_args(argv)
    from mmengine.config import Config

    import mmedit_vit  # noqa: F401  (registers the backbones)
    from mmedit_vit.analysis import sink_metrics as sm
    from mmedit_vit.analysis.layer_stats import (
        attention_maps,
        layer_statistics,
        norm_histograms,
        patch_norms,
        window_maps,
    )
    from mmedit_vit.analysis.plots import plot_attention_maps, plot_layer_curves, plot_norm_histograms, plot_window_maps
    from mmedit_vit.analysis.probes import capture_backbone
    from mmedit_vit.apis.config_model import build_backbone, normalise_images

    norm_threshold = sm.REGISTERS_PAPER_NORM_THRESHOLD if args.norm_threshold is None else args.norm_threshold
    gate_threshold = sm.DEFAULT_GATE_THRESHOLD if args.gate_threshold is None else args.gate_threshold
    files = image_files(args.images)[:args.max_images]
    pixels = load_images(files, args.img_size)
    os.makedirs(args.out, exist_ok=True)
    checkpoints = args.checkpoint or [None]
    if len(checkpoints) == 1:
        checkpoints = checkpoints * len(args.configs)

    metrics, curves, norms = {}, {}, {}
    shown = pixels[:args.map_images].permute(0, 2, 3, 1).numpy() / 255.0
    for name, config, ckpt in zip(run_names(args.configs), args.configs, checkpoints):
        ckpt = None if ckpt is None or ckpt.lower() == 'none' else ckpt
        cfg = Config.fromfile(config)
        backbone = build_backbone(cfg, checkpoint=ckpt, missing_ok=args.missing_ok, random_init=args.random_init)
        cap = capture_backbone(backbone, normalise_images(pixels, cfg))
        stats = layer_statistics(cap, norm_threshold=norm_threshold, gate_threshold=gate_threshold)
        metrics[name] = dict(config=config, checkpoint=ckpt, backbone=type(backbone).__name__, depth=cap.depth,
                             grid=list(cap.grid), num_registers=cap.num_registers,
                             cls_in_sequence=cap.cls_in_sequence, layers=stats,
                             norm_histogram=norm_histograms(cap))
        curves[name] = stats
        norms[name] = [patch_norms(cap, i).numpy() for i in range(cap.depth)]
        maps = attention_maps(cap)
        if maps is not None:
            kind = 'EDIT decoder attention' if cap.decoder else '[CLS] attention'
            plot_attention_maps(shown, [m[:args.map_images].numpy() for m in maps],
                                osp.join(args.out, f'attention_maps_{name}.png'), title=f'{name}: {kind}')
        if cap.window_size:
            metrics[name].update(window_size=cap.window_size, windowed_blocks=cap.windowed_blocks)
            high = [(n[0, cap.num_prefix_tokens:] > norm_threshold).reshape(cap.grid).numpy()
                    for n in cap.input_norms]
            plot_window_maps([m[0].numpy() for m in window_maps(cap)], high, cap.window_size,
                             [i in cap.windowed_blocks for i in range(cap.depth)],
                             osp.join(args.out, f'window_maps_{name}.png'),
                             title=f'{name}: attention received within each {cap.window_size}x{cap.window_size} '
                                   'window (first image; red: high-norm input tokens)')
        print(f'{name}: ' + ', '.join(f'{k} {v:.4g}' for k, v in _last_layer(stats).items()))

    result = dict(settings=dict(images=files, img_size=args.img_size, norm_threshold=norm_threshold,
                                gate_threshold=gate_threshold), models=metrics)
    with open(osp.join(args.out, 'metrics.json'), 'w') as f:
        json.dump(result, f, indent=1)
    plot_layer_curves(curves, osp.join(args.out, 'layer_curves.png'))
    plot_norm_histograms(norms, osp.join(args.out, 'norm_histograms.png'), threshold=norm_threshold)
    print(f'wrote {args.out}/metrics.json and figures for {len(files)} images')
    return result


def _last_layer(stats: Dict[str, list]) -> Dict[str, float]:
    """The deepest layer's value of each metric (for the console summary)."""
    keys = ('cls_attention_ratio', 'decoder_cls_attention_ratio', 'entropy_mean', 'relative_distance',
            'norm_max', 'high_norm_count', 'gate_score_mean', 'window_top_high_norm', 'window_prefix_sink')
    return {f'{k}[-1]': stats[k][-1] for k in keys if k in stats and stats[k][-1] is not None}

