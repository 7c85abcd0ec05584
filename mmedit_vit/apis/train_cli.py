"""Train any config of this project (segmentation, detection, classification) with mmengine's Runner.

    python tools/train.py configs/segmenter_edit_b_ade20k.py [--work-dir DIR] [--resume [CKPT]] [--fast-resume]
        [--amp] [--amp-dtype float16|bfloat16] [--compile [MODE]] [--auto-scale-lr] [--cfg-options key=value ...]
        [--launcher none|pytorch|slurm|mpi] [--force-unlock] [--debug]

A run holds ``<work_dir>/train.lock`` (rank 0) while it trains: a second run on the same work dir stops at once
(``mmedit_vit.engine.work_dir_lock``).
"""
import argparse
import os
import os.path as osp
from typing import Optional, Sequence

from mmengine.logging import print_log

from ..engine.work_dir_lock import WorkDirLock, WorkDirLockedError, launcher_rank
from . import (
    LAUNCHERS,
    CfgOptionsAction,
    adapt_to_device,
    apply_speed_options,
    build_runner,
    check_data_roots,
    check_pretrained_files,
    enable_fast_resume,
    load_run_config,
    release,
    resume_latest,
)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='config file')
    parser.add_argument('--work-dir', help='folder for logs and checkpoints (default work_dirs/<config name>)')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from CKPT, or with no value from the latest checkpoint in the work_dir')
    parser.add_argument('--fast-resume', action='store_true',
                        help='with --resume, iteration-based configs: the sampler jumps past the trained batches '
                             'instead of the loader reading them again (same data order; augmentations drawn in '
                             'loader workers restart their random streams)')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision (CUDA), float16')
    parser.add_argument('--amp-dtype', choices=['float16', 'bfloat16'],
                        help='mixed precision in this dtype (implies --amp; bfloat16 needs no loss scaling)')
    parser.add_argument('--compile', nargs='?', const='default', metavar='MODE',
                        help="torch.compile the model (mmengine's compile); MODE a torch.compile mode, e.g. "
                             'reduce-overhead for CUDA graphs (without MODE: default)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate by the actual batch size over auto_scale_lr.base_batch_size')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                        help='override config entries, e.g. train_dataloader.batch_size=4')
    parser.add_argument('--launcher', choices=LAUNCHERS, default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    parser.add_argument('--force-unlock', action='store_true',
                        help='remove the lock of another run on the work dir (one on another host, or a lock '
                             'whose run is known to be gone) and take it')
    parser.add_argument('--debug', action='store_true', help='show the full traceback of an error')
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    cfg = load_run_config(args.config, args.work_dir, args.cfg_options, args.launcher)
    lock = None
    if args.launcher == 'none' or launcher_rank() == 0:
        lock = WorkDirLock(cfg.work_dir, log=lambda line: print_log(line, logger='current'))
        try:
            lock.acquire(force=args.force_unlock)
        except WorkDirLockedError as err:
            raise SystemExit(str(err))
    try:
        train(args, cfg)
    finally:
        if lock is not None:
            lock.release()


def train(args: argparse.Namespace, cfg) -> None:
    """Everything after the work dir is held: options, resume, checks, the runner."""
    try:
        cfg = apply_speed_options(cfg, args.amp, args.amp_dtype, args.compile)
    except (ValueError, RuntimeError) as err:
        raise SystemExit(str(err))
    if args.auto_scale_lr:
        if not cfg.get('auto_scale_lr', {}).get('base_batch_size'):
            raise SystemExit('--auto-scale-lr needs auto_scale_lr=dict(base_batch_size=N, enable=False) in the config')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        try:
            cfg = resume_latest(cfg)
        except FileNotFoundError as err:
            raise SystemExit(str(err))
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            raise SystemExit(f'--resume {args.resume!r}: no such checkpoint')
        cfg.resume, cfg.load_from = True, args.resume

    if args.fast_resume:
        if args.resume is None:
            raise SystemExit('--fast-resume goes with --resume')
        try:
            cfg = enable_fast_resume(cfg)
        except ValueError as err:
            raise SystemExit(str(err))
    try:
        check_data_roots(cfg, ['train_dataloader', 'val_dataloader'])
        check_pretrained_files(cfg)
    except (FileNotFoundError, ValueError) as err:
        raise SystemExit(f'{args.config}: {err}')
    cfg = adapt_to_device(cfg)
    runner = build_runner(cfg)
    runner.train()
    release(runner)

