"""The detection demo: Mask R-CNN with an EDIT ViT-T backbone, from scratch on generated COCO-format data.

1. writes the synthetic COCO-format set (data/synthetic_coco);
2. evaluates the untrained detector;
3. trains configs/demo/maskrcnn_edit_t_synthetic_coco.py (what `tools/train.py CONFIG` runs);
4. evaluates it: COCO bbox / segm mAP before and after.

One line per phase on the terminal; mmengine's full output goes to <work_dir>/demo.log (--verbose prints it).

    python tools/demo_detection.py [--config CONFIG] [--work-dir work_dirs/demo_detection] [--epochs N] [--verbose]
        [--cfg-options ...]

``--config configs/demo/vitdet_maskrcnn_edit_t_synthetic_coco.py`` runs the ViTDet detector (windowed ViT-T,
simple feature pyramid) the same way.

The same run through the generic tools:
    python -m mmedit_vit.datasets.synthetic_coco data/synthetic_coco
    python tools/train.py configs/demo/maskrcnn_edit_t_synthetic_coco.py
    python tools/test.py configs/demo/maskrcnn_edit_t_synthetic_coco.py \
        work_dirs/maskrcnn_edit_t_synthetic_coco/epoch_N.pth
"""
import argparse
import os.path as osp
from typing import Dict, List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

CONFIG = osp.join(ROOT, 'configs', 'demo', 'maskrcnn_edit_t_synthetic_coco.py')
COLUMNS = {'coco/bbox_mAP': 'bbox mAP', 'coco/bbox_mAP_50': 'bbox mAP50', 'coco/segm_mAP': 'segm mAP',
           'coco/segm_mAP_50': 'segm mAP50'}


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--config', default=CONFIG,
                        help='an epoch-based detection demo config (default: '
                             'configs/demo/maskrcnn_edit_t_synthetic_coco.py)')
    parser.add_argument('--work-dir', default=osp.join('work_dirs', 'demo_detection'))
    parser.add_argument('--epochs', type=int,
                        help="training epochs (default: the config's; its lr decay moves with the last epoch)")
    parser.add_argument('--num-train', type=int, default=64, help='generated training images')
    parser.add_argument('--num-val', type=int, default=16, help='generated validation images')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='override config entries (as tools/train.py --cfg-options)')
    parser.add_argument('--verbose', action='store_true', help="print mmengine's full output instead of progress lines")
    args = parser.parse_args(argv)
    if args.epochs is not None and args.epochs < 1:
        parser.error(f'--epochs {args.epochs}: train at least one epoch')
    return args


def main(argv: Optional[List[str]] = None) -> Dict[str, Dict[str, float]]:
    args = parse_args(argv)
    from mmedit_vit.apis import load_run_config
    from mmedit_vit.apis.demo_session import DemoSession
    from mmedit_vit.apis.epoch_schedule import set_max_epochs
    from mmedit_vit.datasets import make_synthetic_coco

    work_dir = osp.abspath(args.work_dir)
    title = 'Mask R-CNN (EDIT ViT-T backbone) from scratch on generated COCO-format data'
    if osp.abspath(args.config) != CONFIG:
        title = f'{osp.splitext(osp.basename(args.config))[0]} from scratch on generated COCO-format data'
    with DemoSession(title, work_dir, num_phases=4, verbose=args.verbose) as demo:
        # mmengine is imported inside the session: its import-time warnings go to the log too
        from mmengine.config import DictAction
        options = argparse.Namespace()
        DictAction(option_strings=['--cfg-options'], dest='cfg_options')(None, options, args.cfg_options)
        cfg = load_run_config(args.config, work_dir, options.cfg_options)
        if not cfg.train_cfg.get('max_epochs'):
            raise SystemExit(f'--config {args.config}: the demo trains by epochs; this config has no '
                             'train_cfg.max_epochs')
        if args.epochs is not None:
            set_max_epochs(cfg, args.epochs)  # the lr decay moves with the last epoch
        epochs = cfg.train_cfg.max_epochs
        with demo.phase('data') as phase:
            data_root = cfg.train_dataloader.dataset.data_root
            make_synthetic_coco(data_root, num_train=args.num_train, num_val=args.num_val)
            phase.info(f'{data_root}: {args.num_train} train / {args.num_val} val')

        def shown(metrics: dict) -> str:
            return f'bbox mAP {metrics["coco/bbox_mAP"]:.3f}  segm mAP {metrics["coco/segm_mAP"]:.3f}'

        rows = {'untrained': demo.evaluate('untrained', cfg, None, shown)}
        checkpoint = demo.train(cfg)
        rows[f'{epochs} epoch{"s" if epochs > 1 else ""}'] = demo.evaluate('trained', cfg, checkpoint, shown)
        demo.summary(f'COCO metrics on the {args.num_val} generated validation images', COLUMNS, rows,
                     {'checkpoint': checkpoint, 'train logs': osp.join(work_dir, '<timestamp>')}, digits=3)
    return rows


if __name__ == '__main__':
    main()
