"""Main job: the ADE20K segmentation pipeline end to end on generated data, on a CPU in minutes.

1. writes a small ADE20K-format dataset to data/synthetic_ade20k (mmseg's ADE20KDataset reads it);
2. evaluates the untrained Segmenter-T (EDIT backbone) to have a floor;
3. trains configs/demo/segmenter_edit_t_synthetic_ade20k.py (what `tools/train.py CONFIG` runs);
4. evaluates single-scale and multi-scale + flip (what `tools/test.py CONFIG CKPT [--tta]` runs);
5. evaluates under the 15 ImageNet-C benchmark corruptions at severity 3 (`tools/test.py --corruptions`);
6. draws image | ground truth | prediction rows into work_dirs/<demo>/predictions.png.

One line per phase on the terminal; mmengine's full output goes to <work_dir>/demo.log (--verbose prints it).

    python tools/demo.py [--work-dir work_dirs/demo_segmenter_edit_t] [--iters 200] [--num-val 16] [--verbose]
"""
import argparse
import copy
import glob
import os.path as osp

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

CONFIG = osp.join(ROOT, 'configs', 'demo', 'segmenter_edit_t_synthetic_ade20k.py')
DATA_ROOT = osp.join(ROOT, 'data', 'synthetic_ade20k')
COLUMNS = {'mIoU': 'mIoU', 'mAcc': 'mAcc', 'aAcc': 'aAcc'}
NUM_VAL = 16  # validation images the data phase writes


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--work-dir', default=osp.join('work_dirs', 'demo_segmenter_edit_t'))
    parser.add_argument('--iters', type=int, default=200, help='training iterations')
    parser.add_argument('--num-images', type=int, default=4, help='validation images drawn in predictions.png')
    parser.add_argument('--num-val', type=int, default=NUM_VAL,
                        help=f'evaluate on the first N of the {NUM_VAL} generated validation images (a quicker look)')
    parser.add_argument('--verbose', action='store_true', help="print mmengine's full output instead of progress lines")
    args = parser.parse_args(argv)
    if args.iters < 1:
        parser.error(f'--iters {args.iters}: train at least one iteration')
    if not 1 <= args.num_val <= NUM_VAL:
        parser.error(f'--num-val {args.num_val}: between 1 and the {NUM_VAL} generated validation images')
    return args


def draw_predictions(cfg_path: str, checkpoint: str, out_file: str, num_images: int, phase) -> list:
    """Rows of image | ground truth | prediction for the first validation images; returns the legend's classes."""
    import mmcv
    import numpy as np
    from mmseg.apis import inference_model, init_model

    from mmedit_vit.visualization import draw_segmentation_grid
    model = init_model(cfg_path, checkpoint, device='cpu')
    images, truths, predictions = [], [], []
    for path in sorted(glob.glob(osp.join(DATA_ROOT, 'images', 'validation', '*.jpg')))[:num_images]:
        images.append(mmcv.imread(path, channel_order='rgb'))
        label = mmcv.imread(path.replace('images', 'annotations').replace('.jpg', '.png'), flag='unchanged')
        reduced = label.astype(np.int64) - 1  # reduce_zero_label: 0 ("other") -> 255, k -> k - 1
        reduced[reduced < 0] = 255
        truths.append(reduced)
        predictions.append(inference_model(model, path).pred_sem_seg.data[0].numpy())
        phase.advance()
    meta = model.dataset_meta
    return draw_segmentation_grid(images, truths, predictions, meta['classes'], meta['palette'], out_file)


def corruption_row(demo, cfg, checkpoint: str) -> dict:
    """Each metric's mean over the 15 ImageNet-C benchmark corruptions at severity 3
    (the full 5-severity table: docs/robustness.md)."""
    import numpy as np

    from mmedit_vit.datasets.transforms.corruptions import BENCHMARK_CORRUPTIONS
    report = demo.evaluate_corruptions('corruptions', cfg, checkpoint, BENCHMARK_CORRUPTIONS, [3],
                                       lambda r: f"mIoU {r['summary']['benchmark_mean']:.2f}")
    return {key: float(np.mean([runs['3'][key] for runs in report['results'].values()])) for key in COLUMNS}


def main(argv=None) -> dict:
    args = parse_args(argv)
    from mmedit_vit.apis import enable_tta, load_run_config
    from mmedit_vit.apis.demo_session import DemoSession
    from mmedit_vit.datasets import make_synthetic_ade20k

    work_dir = osp.abspath(args.work_dir)
    title = f'Segmenter-T (EDIT backbone) on generated ADE20K-format data, {args.iters} iterations on this machine'
    with DemoSession(title, work_dir, num_phases=7, verbose=args.verbose) as demo:
        with demo.phase('data') as phase:
            make_synthetic_ade20k(DATA_ROOT, num_val=NUM_VAL)
            phase.info(osp.relpath(DATA_ROOT, ROOT) + f': 64 train / {NUM_VAL} val')
        cfg = load_run_config(CONFIG, work_dir, {
            'train_cfg.max_iters': args.iters, 'train_cfg.val_interval': args.iters,
            'default_hooks.checkpoint.interval': args.iters,
            **({f'{split}.dataset.indices': args.num_val for split in ('val_dataloader', 'test_dataloader')}
               if args.num_val < NUM_VAL else {}),
            **{f'{split}.dataset.data_root': DATA_ROOT for split in ('train_dataloader', 'val_dataloader',
                                                                       'test_dataloader')}})

        def shown(metrics: dict) -> str:
            return f'mIoU {metrics["mIoU"]:.2f}'

        rows = {'untrained': demo.evaluate('untrained', cfg, None, shown)}
        checkpoint = demo.train(cfg)
        rows[f'{args.iters} iterations, single-scale'] = demo.evaluate('single-scale', cfg, checkpoint, shown)
        rows[f'{args.iters} iterations, multi-scale + flip'] = demo.evaluate(
            'multi-scale', enable_tta(copy.deepcopy(cfg)), checkpoint, shown)
        rows['15 corruptions, severity 3, mean'] = corruption_row(demo, cfg, checkpoint)
        picture = osp.join(work_dir, 'predictions.png')
        with demo.phase('draw predictions', total=args.num_images) as phase:
            classes = draw_predictions(CONFIG, checkpoint, picture, args.num_images, phase)
            phase.info(f'{len(classes)} classes in the legend')
        files = {'checkpoint': checkpoint, 'predictions': picture, 'train logs': osp.join(work_dir, '<timestamp>')}
        scenes = f'{NUM_VAL} generated scenes' if args.num_val == NUM_VAL else \
            f'the first {args.num_val} of {NUM_VAL} generated scenes'
        demo.summary(f'ADE20K-format validation set ({scenes})', COLUMNS, rows, files)
    return rows


if __name__ == '__main__':
    main()
