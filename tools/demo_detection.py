"""The detection demo: Mask R-CNN with an EDIT ViT-T backbone, from scratch on generated COCO-format data.

Writes the synthetic set, evaluates the untrained detector, trains it with the demo config and
evaluates again, printing COCO bbox / segm mAP before and after (also saved to WORK_DIR/metrics.json).

    python tools/demo_detection.py [--work-dir work_dirs/demo_detection] [--epochs N] [--cfg-options ...]

The same run through the generic tools:
    python -m mmedit_vit.datasets.synthetic_coco data/synthetic_coco
    python tools/train.py configs/demo/maskrcnn_edit_t_synthetic_coco.py
    python tools/test.py configs/demo/maskrcnn_edit_t_synthetic_coco.py \
        work_dirs/maskrcnn_edit_t_synthetic_coco/epoch_N.pth
"""
import argparse
import copy
import json
import os.path as osp
import sys
import time
from typing import Dict, List, Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from mmedit_vit.datasets import make_synthetic_coco  # noqa: E402
from mmedit_vit.apis import load_run_config  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(ROOT, 'configs', 'demo', 'maskrcnn_edit_t_synthetic_coco.py')
SHOWN = ('bbox_mAP', 'bbox_mAP_50', 'bbox_mAP_75', 'segm_mAP', 'segm_mAP_50', 'segm_mAP_75')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train and evaluate Mask R-CNN (EDIT ViT-T) on generated data')
    parser.add_argument('--work-dir', default=osp.join('work_dirs', 'demo_detection'))
    parser.add_argument('--epochs', type=int, help="training epochs (default: the config's)")
    parser.add_argument('--num-train', type=int, default=64, help='generated training images')
    parser.add_argument('--num-val', type=int, default=16, help='generated validation images')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config entries')
    return parser.parse_args(argv)


def evaluate_untrained(cfg: Config) -> Dict[str, float]:
    """COCO metrics of the detector as training would start it (every init_weights applied)."""
    cfg = copy.deepcopy(cfg)
    cfg.work_dir = osp.join(cfg.work_dir, 'untrained')
    runner = Runner.from_cfg(cfg)
    runner.model.init_weights()
    return runner.test()


def main(argv: Optional[List[str]] = None) -> Dict[str, Dict[str, float]]:
    args = parse_args(argv)
    cfg = load_run_config(CONFIG, args.work_dir, args.cfg_options)
    data_root = cfg.train_dataloader.dataset.data_root
    make_synthetic_coco(data_root, num_train=args.num_train, num_val=args.num_val)
    if args.epochs is not None:
        if args.epochs < 1:
            raise SystemExit(f'--epochs {args.epochs}: train at least one epoch')
        cfg.train_cfg.max_epochs = cfg.train_cfg.val_interval = args.epochs
        cfg.default_hooks.checkpoint.interval = args.epochs

    start = time.time()
    before = evaluate_untrained(cfg)
    runner = Runner.from_cfg(cfg)
    runner.train()
    after = runner.test()
    minutes = (time.time() - start) / 60

    print(f'\nMask R-CNN, EDIT ViT-T from scratch, {cfg.train_cfg.max_epochs} epochs on {args.num_train} '
          f'generated images, evaluated on {args.num_val} ({minutes:.1f} min):')
    print(f'{"":10s}' + ''.join(f'{k:>13s}' for k in SHOWN))
    for name, metrics in (('untrained', before), ('trained', after)):
        print(f'{name:10s}' + ''.join(f'{metrics[f"coco/{k}"]:13.3f}' for k in SHOWN))
    result = dict(untrained=before, trained=after, epochs=cfg.train_cfg.max_epochs, minutes=round(minutes, 2))
    with open(osp.join(cfg.work_dir, 'metrics.json'), 'w') as f:
        json.dump(result, f, indent=1)
    return result


if __name__ == '__main__':
    main()
