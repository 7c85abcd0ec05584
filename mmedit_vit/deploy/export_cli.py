"""Export the inference graph of a config + checkpoint to ONNX, optionally quantised to INT8.

    python tools/export.py CONFIG CHECKPOINT --out model.onnx [--shape H W] [--dynamic]
        [--int8 --calib N [--calib-images DIR] [--calib-method minmax|entropy|percentile|distribution]]

CHECKPOINT: a checkpoint of this config (loaded strictly), or ``none`` to export the initialisation (to check
that a config exports). The graph (see ``mmedit_vit.deploy.graphs``) takes the data preprocessor's output
``input`` (B, 3, H, W) and gives ``logits`` (classifiers), ``seg_logits`` (segmentors, at the input size) or
``feat0..featK`` (detectors: backbone + neck). The batch axis is always dynamic; ``--dynamic`` makes H and W
dynamic too. ``--shape`` defaults to the backbone's ``img_size`` (segmentors: the sliding-window crop).
After the export, onnxruntime (CPU) is compared with PyTorch on a random input of the export size.

``--int8`` writes the statically quantised model to ``--out`` (QDQ, per-channel int8 weights, uint8
activations calibrated on ``--calib`` images of the training set or of ``--calib-images``) and keeps the float
model beside it as ``<out>_fp32.onnx``. Evaluate either with ``tools/test.py CONFIG FILE.onnx``.
"""
import argparse
import json
import os
import os.path as osp
from typing import Optional, Sequence

from ..apis.cfg_options import CfgOptionsAction
from .quantize import CALIBRATION_METHODS


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config')
    p.add_argument('checkpoint', help="checkpoint file, or 'none' for the config's initialisation")
    p.add_argument('--out', required=True, help='the .onnx file to write')
    p.add_argument('--shape', nargs=2, type=int, metavar=('H', 'W'), help='input size of the export')
    p.add_argument('--dynamic', action='store_true', help='dynamic height and width (one file for every size)')
    p.add_argument('--int8', action='store_true', help='statically quantise to INT8 (onnxruntime, QDQ)')
    p.add_argument('--calib', type=int, default=None, metavar='N', help='number of calibration images (--int8)')
    p.add_argument('--calib-images', metavar='DIR', help='calibrate on this folder instead of the training set')
    p.add_argument('--calib-method', default='minmax', choices=CALIBRATION_METHODS,
                   help='how activation ranges are chosen (default minmax)')
    p.add_argument('--calib-seed', type=int, default=0, help='seed of the training-set subset (default 0)')
    p.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                   help='override config entries (e.g. a data root for --calib)')
    p.add_argument('--debug', action='store_true', help='show the full traceback of an error')
    args = p.parse_args(argv)
    if not args.out.endswith('.onnx'):
        p.error(f'--out {args.out!r} must end with .onnx')
    if args.shape is not None and min(args.shape) < 1:
        p.error(f'--shape {args.shape} must be positive')
    if args.int8 and args.calib is None:
        p.error('--int8 needs --calib N (the number of calibration images)')
    if not args.int8 and (args.calib is not None or args.calib_images):
        p.error('--calib / --calib-images only apply with --int8')
    if args.calib is not None and args.calib < 1:
        p.error(f'--calib {args.calib}: calibrate on at least one image')
    return args


def default_shape(model, task: str):
    """The backbone's ``img_size`` grid (segmentors: their sliding-window crop when they have one)."""
    test_cfg = getattr(model, 'test_cfg', None) or {}
    if task == 'segmentor' and test_cfg.get('mode') == 'slide':
        return tuple(int(s) for s in test_cfg['crop_size'])
    backbone = getattr(model, 'backbone', None)
    embed = getattr(backbone, 'patch_embed', None)
    if embed is None or embed.img_size is None:
        raise ValueError('the model has no backbone.patch_embed.img_size to take the export size from: give --shape')
    return tuple(int(s) for s in embed.img_size)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = parse_args(argv)
    import torch

    import mmedit_vit  # noqa: F401  (registers the modules)
    from mmedit_vit.apis import load_run_config

    from .calibration import calibration_samples, preprocess
    from .export import export_onnx
    from .graphs import export_graph
    from .ort_session import OrtSession
    from .parity import TOLERANCE, compare
    from .quantize import quantize_int8
    from .task_model import build_task_model, normalisation_metadata

    cfg = load_run_config(args.config, None, args.cfg_options)
    checkpoint = None if args.checkpoint.lower() == 'none' else args.checkpoint
    model = build_task_model(cfg, checkpoint)
    graph, task = export_graph(model)
    shape = tuple(args.shape) if args.shape else default_shape(model, task)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    fp32_path = args.out[:-len('.onnx')] + '_fp32.onnx' if args.int8 else args.out
    metadata = dict(task=task, config=osp.basename(args.config), checkpoint=str(checkpoint),
                    input='normalised float32 (batch, 3, height, width), the data preprocessor output',
                    **normalisation_metadata(model))
    result = export_onnx(model, fp32_path, shape, dynamic=args.dynamic, metadata=metadata)
    errors = compare(graph, OrtSession(fp32_path), torch.randn(2, 3, *shape))
    print(f'exported {task} to {fp32_path}: {result.input_name} {result.input_shape} -> '
          + ', '.join(f'{n} {s}' for n, s in zip(result.output_names, result.output_shapes)))
    print('onnxruntime vs PyTorch (float32, max |diff| / max |torch|): '
          + ', '.join(f'{n} {e:.2e}' for n, e in errors.items()) + f' (tolerance {TOLERANCE:g})')
    bad = {n: e for n, e in errors.items() if e > TOLERANCE}
    if bad:
        raise RuntimeError(f'onnxruntime output differs from PyTorch beyond {TOLERANCE:g}: {bad}')
    summary = dict(task=task, fp32=fp32_path, input=result.input_shape,
                   outputs=dict(zip(result.output_names, result.output_shapes)), parity=errors)
    if args.int8:
        samples = calibration_samples(cfg, args.calib, args.calib_images, seed=args.calib_seed)
        arrays = list(preprocess(samples, model.data_preprocessor, result.input_shape))
        quantize_int8(fp32_path, args.out, arrays, method=args.calib_method, input_name=result.input_name)
        source = args.calib_images or 'the training set'
        print(f'INT8 ({args.calib_method} calibration on {args.calib} images of {source}) written to {args.out}')
        summary.update(int8=args.out, calib=args.calib, calib_method=args.calib_method, calib_source=source)
    with open(args.out[:-len('.onnx')] + '.json', 'w') as f:
        json.dump(summary, f, indent=1)
    return summary
