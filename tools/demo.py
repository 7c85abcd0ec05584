"""Main job: the ADE20K segmentation pipeline end to end on generated data, on a CPU in minutes.

1. writes a small ADE20K-format dataset to data/synthetic_ade20k (mmseg's ADE20KDataset reads it);
2. evaluates the untrained Segmenter-T (EDIT backbone) to have a floor;
3. trains it with `tools/train.py configs/demo/segmenter_edit_t_synthetic_ade20k.py`;
4. evaluates single-scale and multi-scale + flip (`tools/test.py ... --tta`);
5. draws predictions over validation images into work_dirs/<demo>/predictions.png.

    python tools/demo.py [--work-dir work_dirs/demo_segmenter_edit_t] [--iters 200]
"""
import argparse
import glob
import os
import os.path as osp
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)
from mmedit_vit.utils.run_logs import latest_test_metrics  # noqa: E402

CONFIG = 'configs/demo/segmenter_edit_t_synthetic_ade20k.py'
DATA_ROOT = 'data/synthetic_ade20k'


def run(cmd: list) -> None:
    print('\n$ ' + ' '.join(cmd), flush=True)
    subprocess.run([sys.executable] + cmd, cwd=ROOT, check=True)


def save_untrained(cfg_path: str, out: str) -> None:
    """The model as training starts (config init, seed 0), saved as a checkpoint to evaluate."""
    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    import mmedit_vit  # noqa: F401
    cfg = Config.fromfile(osp.join(ROOT, cfg_path))
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    os.makedirs(osp.dirname(out), exist_ok=True)
    torch.save(dict(state_dict=model.state_dict(), meta=dict(note='untrained')), out)


def draw_predictions(cfg_path: str, checkpoint: str, out_file: str, num_images: int = 4) -> None:
    """Rows of image | ground truth | prediction for the first validation images, in one PNG."""
    import mmcv
    import numpy as np
    import torch
    from mmengine.structures import PixelData
    from mmseg.apis import inference_model, init_model
    from mmseg.structures import SegDataSample
    from mmseg.visualization import SegLocalVisualizer

    import mmedit_vit  # noqa: F401
    model = init_model(osp.join(ROOT, cfg_path), checkpoint, device='cpu')
    vis = SegLocalVisualizer(name='demo_overlay', alpha=0.6)
    vis.dataset_meta = model.dataset_meta
    rows = []
    images = sorted(glob.glob(osp.join(ROOT, DATA_ROOT, 'images', 'validation', '*.jpg')))[:num_images]
    for path in images:
        img = mmcv.imread(path, channel_order='rgb')
        label = mmcv.imread(path.replace('images', 'annotations').replace('.jpg', '.png'), flag='unchanged')
        reduced = label.astype(np.int64) - 1  # reduce_zero_label: 0 ("other") -> 255, k -> k - 1
        reduced[reduced < 0] = 255
        gt = SegDataSample(gt_sem_seg=PixelData(data=torch.from_numpy(reduced)[None]))
        vis.add_datasample('gt', img, gt, draw_pred=False, with_labels=False)
        with_gt = vis.get_image()
        vis.add_datasample('pred', img, inference_model(model, path), draw_gt=False, with_labels=False)
        rows.append(np.concatenate([img, with_gt, vis.get_image()], axis=1))
    mmcv.imwrite(mmcv.rgb2bgr(np.concatenate(rows, axis=0)), out_file)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--work-dir', default='work_dirs/demo_segmenter_edit_t')
    parser.add_argument('--iters', type=int, default=200, help='training iterations')
    args = parser.parse_args()
    start = time.time()
    wd = args.work_dir

    from mmedit_vit.datasets import make_synthetic_ade20k
    make_synthetic_ade20k(osp.join(ROOT, DATA_ROOT))
    print(f'data: {DATA_ROOT} (ADE20K layout, generated)')

    untrained = osp.join(ROOT, wd, 'untrained.pth')
    save_untrained(CONFIG, untrained)
    run(['tools/test.py', CONFIG, untrained, '--work-dir', f'{wd}/test_untrained'])
    floor = latest_test_metrics(osp.join(ROOT, f'{wd}/test_untrained'))

    iters = [f'train_cfg.max_iters={args.iters}', f'train_cfg.val_interval={args.iters}',
             f'default_hooks.checkpoint.interval={args.iters}']
    run(['tools/train.py', CONFIG, '--work-dir', wd, '--cfg-options'] + iters)
    checkpoint = osp.join(ROOT, wd, f'iter_{args.iters}.pth')
    run(['tools/test.py', CONFIG, checkpoint, '--work-dir', f'{wd}/test_single_scale'])
    single = latest_test_metrics(osp.join(ROOT, f'{wd}/test_single_scale'))
    run(['tools/test.py', CONFIG, checkpoint, '--tta', '--work-dir', f'{wd}/test_multi_scale'])
    multi = latest_test_metrics(osp.join(ROOT, f'{wd}/test_multi_scale'))

    overlay = osp.join(ROOT, wd, 'predictions.png')
    draw_predictions(CONFIG, checkpoint, overlay)

    print(f'\n{"model":<34} {"mIoU":>6} {"mAcc":>6} {"aAcc":>6}')
    for name, m in (('untrained', floor), (f'trained {args.iters} iters, single-scale', single),
                    (f'trained {args.iters} iters, multi-scale + flip', multi)):
        print(f'{name:<34} {m["mIoU"]:>6.2f} {m["mAcc"]:>6.2f} {m["aAcc"]:>6.2f}')
    print(f'\ncheckpoint  {osp.relpath(checkpoint, ROOT)}\npredictions {osp.relpath(overlay, ROOT)}'
          f'\nlogs        {wd}/<timestamp>/\ntotal {time.time() - start:.0f} s')


if __name__ == '__main__':
    main()
