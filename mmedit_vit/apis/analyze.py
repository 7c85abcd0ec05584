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

Sink anatomy (Fesser et al. 2026; ``mmedit_vit.analysis.sink_anatomy``): per image, block and head the dominant
attention column, its mass, routed fraction, min_a, value-norm ratios and stable rank, in
``sink_anatomy_<name>.npz`` (with the image names); ``sink_table.md`` / ``sink_table.json``: sink events per
image (blocks 1..L-1 unless ``--include-block0``; ``--sink-rule relaxed`` or ``eps --eps ...``), broadcast- and
NOP-like, on [CLS] / a register / a patch, one row per model (EDIT's decoder in a row of its own);
``sink_heatmaps.png`` (block x head, sink mass coloured by kind) and ``sink_events_per_block.png``. Every block
is rebuilt from the captured internals and compared with the model's forward: ``rebuild_error`` per block in
``metrics.json``. Outlier statistics (kurtosis, max |x| of block outputs and MLP activations, tokens above
``--norm-ratio`` x the median patch norm) are in every model's per-layer lists.
"""
import argparse
import json
import os
import os.path as osp
from typing import Dict, List

IMAGE_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')
SINK_RULES = ('relaxed', 'eps')


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
    p.add_argument('--norm-ratio', type=float, default=None,
                   help='scale-free high-norm tokens: norm above this many times the median patch norm of the '
                        'image and layer (default 4, docs/diagnostics.md)')
    p.add_argument('--sink-rule', choices=SINK_RULES, default='relaxed',
                   help="sink events: 'relaxed' (>= 90%% of the queries give the dominant key >= 0.5) or 'eps' "
                        '(Definition 1: every query gives it >= 1 - eps, for each --eps)')
    p.add_argument('--eps', type=float, nargs='+', default=[0.5, 0.3, 0.2, 0.1],
                   help='Definition-1 eps values for --sink-rule eps, each in (0, 0.5] (default 0.5 0.3 0.2 0.1)')
    p.add_argument('--include-block0', action='store_true', help='count block 0 in the sink table')
    args = p.parse_args(argv)
    bad_eps = [e for e in args.eps if not 0 < e <= 0.5]
    if bad_eps:
        p.error(f'--eps {bad_eps}: each eps must lie in (0, 0.5] (only the dominant column is measured)')
    if args.norm_ratio is not None and args.norm_ratio <= 0:
        p.error(f'--norm-ratio {args.norm_ratio}: must be positive')
    if args.checkpoint is not None and len(args.checkpoint) not in (1, len(args.configs)):
        p.error(f'--checkpoint takes 1 path or {len(args.configs)} (one per config), got {len(args.checkpoint)}')
    for name in ('img_size', 'max_images', 'map_images'):
        if getattr(args, name) < 1:
            p.error(f'--{name.replace("_", "-")} must be >= 1, got {getattr(args, name)}')
    return args


def main(argv=None) -> Dict[str, dict]:
    args = parse_args(argv)
    import numpy as np
    from mmengine.config import Config

    import mmedit_vit  # noqa: F401  (registers the backbones)
    from mmedit_vit.analysis import sink_metrics as sm
    from mmedit_vit.analysis.block_internals import anatomy
    from mmedit_vit.analysis.layer_stats import (
        attention_maps,
        layer_statistics,
        norm_histograms,
        patch_norms,
        window_maps,
    )
    from mmedit_vit.analysis.outlier_stats import DEFAULT_NORM_RATIO
    from mmedit_vit.analysis.plots import (
        plot_attention_maps,
        plot_event_counts,
        plot_layer_curves,
        plot_norm_histograms,
        plot_sink_heatmaps,
        plot_window_maps,
    )
    from mmedit_vit.analysis.probes import capture_backbone
    from mmedit_vit.analysis.sink_anatomy import (
        BROADCAST_RATIO,
        NOP_RATIO,
        RELAXED_FRACTION,
        cell_kinds,
        markdown_table,
        per_block_counts,
        sink_events,
    )
    from mmedit_vit.apis.config_model import build_backbone, normalise_images

    norm_threshold = sm.REGISTERS_PAPER_NORM_THRESHOLD if args.norm_threshold is None else args.norm_threshold
    gate_threshold = sm.DEFAULT_GATE_THRESHOLD if args.gate_threshold is None else args.gate_threshold
    norm_ratio = DEFAULT_NORM_RATIO if args.norm_ratio is None else args.norm_ratio
    rules = [('relaxed', None)] if args.sink_rule == 'relaxed' else [('eps', e) for e in args.eps]
    files = image_files(args.images)[:args.max_images]
    pixels = load_images(files, args.img_size)
    os.makedirs(args.out, exist_ok=True)
    checkpoints = args.checkpoint or [None]
    if len(checkpoints) == 1:
        checkpoints = checkpoints * len(args.configs)

    metrics, curves, norms = {}, {}, {}
    table_rows, heatmaps, block_counts = [], {}, {}
    shown = pixels[:args.map_images].permute(0, 2, 3, 1).numpy() / 255.0
    for name, config, ckpt in zip(run_names(args.configs), args.configs, checkpoints):
        ckpt = None if ckpt is None or ckpt.lower() == 'none' else ckpt
        cfg = Config.fromfile(config)
        backbone = build_backbone(cfg, checkpoint=ckpt, missing_ok=args.missing_ok, random_init=args.random_init)
        cap = capture_backbone(backbone, normalise_images(pixels, cfg), internals=True)
        stats = layer_statistics(cap, norm_threshold=norm_threshold, gate_threshold=gate_threshold,
                                 norm_ratio=norm_ratio)
        anat = anatomy(backbone, cap)
        cap.internals = None  # the per-block tensors are no longer needed
        metrics[name] = dict(config=config, checkpoint=ckpt, backbone=type(backbone).__name__, depth=cap.depth,
                             grid=list(cap.grid), num_registers=cap.num_registers,
                             cls_in_sequence=cap.cls_in_sequence, layers=stats,
                             norm_histogram=norm_histograms(cap))
        metrics[name].update(rebuild_error=anat['rebuild_error'],
                             decoder_rebuild_error=anat.get('decoder_rebuild_error'))
        write_anatomy(osp.join(args.out, f'sink_anatomy_{name}.npz'), anat, files)
        for label, arrays, layout in sink_parts(name, anat):
            table_rows += sink_rows(label, arrays, layout, rules, args.include_block0)
            events = sink_events(arrays['routed_frac'], arrays['min_a'], *rules[0])
            heatmaps[label] = (np.nanmean(arrays['mass'], axis=(0, 2)), cell_kinds(events, arrays['ratio_head']))
            block_counts[label] = per_block_counts(events, arrays['ratio_head'])
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
                                gate_threshold=gate_threshold, norm_ratio=norm_ratio), models=metrics)
    with open(osp.join(args.out, 'metrics.json'), 'w') as f:
        json.dump(result, f, indent=1)
    plot_layer_curves(curves, osp.join(args.out, 'layer_curves.png'))
    plot_norm_histograms(norms, osp.join(args.out, 'norm_histograms.png'), threshold=norm_threshold)
    rule_text = ', '.join(r['rule'] for r in table_rows[:len(rules)])
    blocks = 'blocks 0..L-1' if args.include_block0 else 'blocks 1..L-1'
    table = markdown_table(table_rows)
    with open(osp.join(args.out, 'sink_table.md'), 'w') as f:
        f.write(f'Sink events per image ({len(files)} images, {blocks}; {rule_text}; broadcast-like: ratio_head >= '
                f'{BROADCAST_RATIO}, NOP-like: ratio_head <= {NOP_RATIO})\n\n{table}\n')
    with open(osp.join(args.out, 'sink_table.json'), 'w') as f:
        json.dump(dict(images=files, include_block0=args.include_block0, broadcast_ratio=BROADCAST_RATIO,
                       nop_ratio=NOP_RATIO, relaxed_fraction=RELAXED_FRACTION, rows=table_rows), f, indent=1)
    first = rules[0][0] if rules[0][1] is None else f'eps={rules[0][1]:g}'
    plot_sink_heatmaps(heatmaps, osp.join(args.out, 'sink_heatmaps.png'),
                       title=f'sink mass (mean over images) per block and head, coloured by kind ({first})')
    plot_event_counts(block_counts, osp.join(args.out, 'sink_events_per_block.png'), title=f'sink events ({first})')
    print(table)
    print(f'wrote {args.out}/metrics.json, sink_table.md/.json, sink_anatomy_*.npz and figures for {len(files)} images')
    return result


def sink_parts(name: str, anat: dict):
    """(row label, arrays, key layout) of the encoder and, for EDIT, of the decoder."""
    layout = {k: anat[k] for k in ('cls_index', 'register_start', 'num_registers', 'num_keys')}
    parts = [(name, anat['arrays'], layout)]
    if 'decoder_arrays' in anat:
        keys = anat['num_keys'] + 1  # the block's tokens, then the previous [CLS]
        parts.append((f'{name} (decoder)', anat['decoder_arrays'],
                      dict(cls_index=-1, register_start=0, num_registers=anat['num_registers'], num_keys=keys)))
    return parts


def sink_rows(label: str, arrays: dict, layout: dict, rules, include_block0: bool) -> List[dict]:
    """One table row per rule: events per image by kind and by the sink's position."""
    from mmedit_vit.analysis.sink_anatomy import count_events, sink_events, token_kind
    kinds = token_kind(arrays['sink_idx'], layout['cls_index'], layout['register_start'], layout['num_registers'],
                       layout['num_keys'])
    rows = []
    for rule, eps in rules:
        events = sink_events(arrays['routed_frac'], arrays['min_a'], rule, eps)
        counts = count_events(events, arrays['ratio_head'], kinds, include_block0=include_block0)
        if layout['cls_index'] is None:
            counts['on_cls'] = None
        if not layout['num_registers']:
            counts['on_register'] = None
        rows.append(dict(model=label, rule='relaxed' if rule == 'relaxed' else f'eps={eps:g}',
                         images=int(arrays['mass'].shape[0]), **counts))
    return rows


def write_anatomy(path: str, anat: dict, files: List[str]) -> None:
    """The per-(image, block, window, head) arrays, the image names and the key layout, in one .npz."""
    import numpy as np
    out = dict(anat['arrays'])
    out.update({f'decoder_{k}': v for k, v in anat.get('decoder_arrays', {}).items()})
    out.update(image_names=np.array(files), rebuild_error=np.array(anat['rebuild_error']),
               num_registers=np.array(anat['num_registers']), register_start=np.array(anat['register_start']),
               cls_in_sequence=np.array(anat['cls_index'] is not None))  # decoder keys: the last is [CLS]
    if 'decoder_rebuild_error' in anat:
        out['decoder_rebuild_error'] = np.array(anat['decoder_rebuild_error'])
    np.savez_compressed(path, **out)


def _last_layer(stats: Dict[str, list]) -> Dict[str, float]:
    """The deepest layer's value of each metric (for the console summary)."""
    keys = ('cls_attention_ratio', 'decoder_cls_attention_ratio', 'entropy_mean', 'relative_distance',
            'norm_max', 'high_norm_count', 'gate_score_mean', 'window_top_high_norm', 'window_prefix_sink')
    return {f'{k}[-1]': stats[k][-1] for k in keys if k in stats and stats[k][-1] is not None}

