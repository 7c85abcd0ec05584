"""Evaluate a checkpoint of any config of this project with mmengine's Runner.

    python tools/test.py CONFIG CHECKPOINT|MODEL.onnx [--tta] [--perturb NAME [--perturb-seed N]]
        [--occlusion [--occlusion-fill zero|mean]] [--fgsm EPS]
        [--test-set imagenet-a|imagenet-r|imagenet-c [--test-root DIR]]
        [--corruptions all|benchmark|noise|blur|weather|digital|holdout|NAME ... [--severities 1 2 3 4 5]
         [--ce-reference DIR] [--corruption-seed N] [--corruption-format raw|jpeg85]]
        [--ablate-registers zero|mean|noise|shuffle ... [--ablate-blocks I ...] [--ablate-calibration N]]
        [--work-dir DIR] [--out PATH] [--show] [--show-dir DIR] [--cfg-options ...] [--launcher ...] [--debug]

--corruptions evaluates the model on the clean test set and then on every chosen corruption and severity,
computed on the fly, or read from the released ImageNet-C with --test-set imagenet-c (docs/robustness.md);
WORK_DIR/corruptions.json and corruptions.png hold the results.
--ablate-registers evaluates clean and then with the register tokens replaced (``register_ablation``).
"""
import argparse
import os
import os.path as osp
from typing import Optional, Sequence

from mmengine.config import Config

from mmedit_vit.datasets import PERTURBATIONS
from mmedit_vit.datasets.transforms.corruptions import CORRUPTION_FAMILIES, CORRUPTIONS, FORMATS, SEVERITIES, parse_seed

from . import (
    LAUNCHERS,
    CfgOptionsAction,
    adapt_to_device,
    build_runner,
    check_data_roots,
    enable_tta,
    load_run_config,
    register_ablation,
    release,
)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file, or a .onnx file written by tools/export.py (run by '
                                           'onnxruntime on the CPU, docs/deploy.md)')
    parser.add_argument('--work-dir', help='folder for the metrics json and logs')
    parser.add_argument('--out', help='folder (segmentation) or .pkl file (detection, classification) '
                                      'to save predictions in')
    parser.add_argument('--show', action='store_true', help='show predictions in a window')
    parser.add_argument('--show-dir', help='save images with predictions drawn on them in this folder')
    parser.add_argument('--wait-time', type=float, default=2, help='seconds per image with --show')
    parser.add_argument('--tta', action='store_true',
                        help="test-time augmentation: the config's tta_pipeline (multi-scale + flip) and tta_model")
    parser.add_argument('--perturb', choices=sorted(PERTURBATIONS),
                        help='perturb the test images (CB paper, Table 9)')
    parser.add_argument('--perturb-seed', type=int, default=0, help='seed of the perturbation noise')
    parser.add_argument('--occlusion', action='store_true', help='mask a 112x112 centre patch of every input')
    parser.add_argument('--occlusion-fill', choices=['zero', 'mean'], default='zero',
                        help="--occlusion fill: 'zero' = pixel value 0 (CB paper, default), 'mean' = the mean colour")
    parser.add_argument('--fgsm', type=float, metavar='EPS',
                        help='FGSM adversarial inputs, step EPS on the 0-1 pixel scale (classification)')
    parser.add_argument('--test-set', choices=['imagenet-a', 'imagenet-r', 'imagenet-c'],
                        help='evaluate a classifier on ImageNet-A / ImageNet-R (their 200-class subsets) or on the '
                             'released ImageNet-C (with --corruptions)')
    parser.add_argument('--test-root', help='folder of --test-set (default data/imagenet-a, data/imagenet-r, '
                                            'data/imagenet-c)')
    parser.add_argument('--corruptions', nargs='+', metavar='NAME',
                        choices=['all', 'benchmark', *CORRUPTION_FAMILIES, *CORRUPTIONS],
                        help='ImageNet-C corruptions to evaluate under, after a clean evaluation: all (19), '
                             'benchmark (15), a family (noise, blur, weather, digital, holdout) or names')
    parser.add_argument('--severities', nargs='+', type=int, choices=SEVERITIES, default=list(SEVERITIES),
                        help='corruption severities (default 1 2 3 4 5)')
    parser.add_argument('--ce-reference', metavar='DIR',
                        help='work dir (or corruptions.json) of the reference model: adds CE and mCE')
    parser.add_argument('--corruption-seed', type=parse_seed, default=0,
                        help='mixed with each image into its corruption noise (default 0)')
    register_ablation.add_arguments(parser)
    parser.add_argument('--corruption-format', choices=sorted(FORMATS), default='raw',
                        help="'jpeg85' saves each corrupted image as JPEG quality 85 first, as ImageNet-C was "
                             "released (default 'raw')")
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                        help='override config entries, e.g. test_dataloader.batch_size=2')
    parser.add_argument('--launcher', choices=LAUNCHERS, default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    parser.add_argument('--debug', action='store_true', help='show the full traceback of an error')
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def enable_visualization(cfg: Config, show: bool, show_dir, wait_time: float) -> None:
    """Draws every test image through the config's visualization hook (mmseg / mmdet)."""
    hook = cfg.get('default_hooks', {}).get('visualization')
    if hook is None:
        raise SystemExit('--show/--show-dir need a visualization hook in default_hooks; this config has none')
    hook.update(draw=True, interval=1)
    if show:
        hook.update(show=True, wait_time=wait_time)
    if show_dir:
        if 'Det' in hook.get('type', ''):
            hook['test_out_dir'] = osp.abspath(show_dir)
        else:
            cfg.visualizer['save_dir'] = show_dir


def insert_after_loading(pipeline: list, transform: dict) -> list:
    """``pipeline`` with ``transform`` right after image loading (the first step)."""
    types = [step.get('type') for step in pipeline]
    if 'LoadImageFromFile' not in types:
        raise SystemExit(f'--perturb needs LoadImageFromFile in the test pipeline; found {types}')
    at = types.index('LoadImageFromFile') + 1
    return pipeline[:at] + [transform] + pipeline[at:]


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    register_ablation.check_arguments(args)
    cfg = load_run_config(args.config, args.work_dir, args.cfg_options, args.launcher)
    if not osp.isfile(args.checkpoint) and '://' not in args.checkpoint:
        raise SystemExit(f'checkpoint {args.checkpoint!r} does not exist')
    cfg.load_from = args.checkpoint

    if args.test_set == 'imagenet-c' and not args.corruptions:
        raise SystemExit('--test-set imagenet-c needs --corruptions (e.g. benchmark) and optionally --severities')
    if args.corruptions:
        clashes = [flag for flag, on in (('--perturb', args.perturb), ('--out', args.out), ('--show', args.show),
                                         ('--show-dir', args.show_dir)) if on]
        if clashes:
            raise SystemExit(f'--corruptions runs many evaluations; it does not combine with {clashes}')
    elif args.ce_reference:
        raise SystemExit('--ce-reference needs --corruptions')
    if args.show or args.show_dir:
        enable_visualization(cfg, args.show, args.show_dir, args.wait_time)
    if args.tta:
        try:
            enable_tta(cfg)
        except ValueError as err:
            raise SystemExit(f'--tta: {err}')
    if args.perturb:
        kind, strength = PERTURBATIONS[args.perturb]
        step = dict(type='ImagePerturbation', kind=kind, strength=strength, seed=args.perturb_seed)
        dataset = cfg.test_dataloader.dataset
        dataset.pipeline = insert_after_loading(list(dataset.pipeline), step)
    subset = args.test_set if args.test_set in ('imagenet-a', 'imagenet-r') else None
    if args.occlusion or args.fgsm is not None or subset:
        from . import robustness
        if subset:
            cfg = robustness.enable_imagenet_subset(cfg, args.test_set, data_root=args.test_root)
        if args.occlusion:
            cfg = robustness.enable_occlusion(cfg, size=112, fill=args.occlusion_fill)
        if args.fgsm is not None:
            cfg = robustness.enable_fgsm(cfg, eps=args.fgsm)
    if args.out is not None:
        if cfg.get('default_scope') in ('mmdet', 'mmedit_vit'):
            if not args.out.endswith(('.pkl', '.pickle')):
                raise SystemExit(f'--out {args.out!r}: detection and classification results are saved as .pkl')
            dump = 'DumpDetResults' if cfg.default_scope == 'mmdet' else 'mmengine.DumpResults'
            cfg.test_evaluator = [cfg.test_evaluator] if isinstance(cfg.test_evaluator, dict) \
                else list(cfg.test_evaluator)
            cfg.test_evaluator.append(dict(type=dump, out_file_path=args.out))
        else:
            cfg.test_evaluator['output_dir'] = args.out
            cfg.test_evaluator['keep_results'] = True

    if args.checkpoint.endswith('.onnx'):  # an exported graph runs in place of the network (docs/deploy.md)
        from mmedit_vit.deploy.ort_model import use_onnx_file
        cfg = use_onnx_file(cfg, args.checkpoint)
    try:
        check_data_roots(cfg, ['test_dataloader'])
    except FileNotFoundError as err:
        raise SystemExit(f'{args.config}: {err}')
    cfg = adapt_to_device(cfg)
    if args.corruptions:
        from mmedit_vit.datasets.transforms.corruptions import resolve_corruptions

        from . import corruption_eval
        reference = corruption_eval.load_reference(args.ce_reference) if args.ce_reference else None
        released = None
        if args.test_set == 'imagenet-c':
            released = args.test_root or corruption_eval.imagenet_c.DEFAULT_ROOT
        corruption_eval.main_metric(cfg)
        cfg = corruption_eval.prepare_config(cfg)
        runner = build_runner(cfg)
        corruption_eval.run_corruptions(runner, cfg, resolve_corruptions(args.corruptions), args.severities,
                                        checkpoint=args.checkpoint, reference=reference, seed=args.corruption_seed,
                                        image_format=args.corruption_format, released_root=released)
    elif args.ablate_registers:
        runner = build_runner(cfg)
        register_ablation.run_ablations(runner, cfg, register_ablation.modes_list(args.ablate_registers),
                                        args.ablate_blocks, args.ablate_calibration)
    else:
        runner = build_runner(cfg)
        runner.test()
    release(runner)

