"""Classification end to end on generated data, on a CPU in about a minute.

1. writes a 4-class ImageNet-style folder dataset to data/synthetic_cls (48 px stripe textures);
2. trains EDIT-T with the DeiT-III recipe (LAMB, 3-Augment, Mixup/CutMix, BCE, repeated augmentation):
   configs/demo/cls_edit_t_synthetic.py (what `tools/train.py CONFIG` runs); `--config
   configs/demo/cls_deit3_t_synthetic.py` trains its DeiT-III-T control the same way;
3. evaluates top-1/top-5 clean, with the centre occluded and under FGSM
   (what `tools/test.py CONFIG CKPT [--occlusion] [--fgsm EPS]` runs);
4. loads the checkpoint strictly into a segmentation/detection backbone.

One line per phase on the terminal; mmengine's full output goes to <work_dir>/demo.log (--verbose prints it).

    python tools/demo_classification.py [--config CONFIG] [--work-dir work_dirs/demo_cls_edit_t] [--fgsm-eps 0.0157]
        [--verbose]
"""
import argparse
import copy
import os
import os.path as osp

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

CONFIG = osp.join(ROOT, 'configs', 'demo', 'cls_edit_t_synthetic.py')
DATA_ROOT = osp.join(ROOT, 'data', 'synthetic_cls')
COLUMNS = {'accuracy/top1': 'top-1', 'accuracy/top5': 'top-5'}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--config', default=CONFIG,
                        help='a classification config on the generated data (default: the EDIT-T demo; '
                             'configs/demo/cls_deit3_t_synthetic.py is its DeiT-III-T control)')
    parser.add_argument('--work-dir', help='default: work_dirs/demo_<config name without "_synthetic">')
    parser.add_argument('--epochs', type=int,
                        help="training epochs (default: the config's; its lr decay moves with the last epoch)")
    parser.add_argument('--fgsm-eps', type=float, default=4 / 255, help='FGSM step on the 0-1 pixel scale')
    parser.add_argument('--verbose', action='store_true', help="print mmengine's full output instead of progress lines")
    args = parser.parse_args(argv)
    if args.epochs is not None and args.epochs < 1:
        parser.error(f'--epochs {args.epochs}: train at least one epoch')
    if not osp.isfile(args.config):
        parser.error(f'--config {args.config!r} does not exist')
    if args.work_dir is None:
        stem = osp.splitext(osp.basename(args.config))[0].replace('_synthetic', '')
        args.work_dir = osp.join('work_dirs', f'demo_{stem}')
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    import torch
    from mmengine.registry import MODELS

    from mmedit_vit.apis import load_run_config, robustness
    from mmedit_vit.apis.demo_session import DemoSession
    from mmedit_vit.apis.epoch_schedule import set_max_epochs
    from mmedit_vit.converters import load_pretrained
    from mmedit_vit.datasets import make_synthetic_folder

    if 'OMP_NUM_THREADS' not in os.environ:
        torch.set_num_threads(1)  # the 48-px EDIT-T steps are too small to gain from more, and lose much on busy cores
    work_dir = osp.abspath(args.work_dir)
    cfg = load_run_config(args.config, work_dir, {'train_dataloader.dataset.data_root': DATA_ROOT,
                                             'val_dataloader.dataset.data_root': DATA_ROOT,
                                             'test_dataloader.dataset.data_root': DATA_ROOT})
    if args.epochs is not None:
        set_max_epochs(cfg, args.epochs)  # the cosine decay ends with the last epoch
    epochs = cfg.train_cfg.max_epochs
    backbone_cfg = dict(cfg.model.backbone)
    title = (f'{backbone_cfg["type"]} ({backbone_cfg.get("arch", "small")}) classifier from scratch on 4 generated '
             'texture classes (chance: 25% top-1), '
             f'{epochs} epoch{"s" if epochs > 1 else ""}')
    with DemoSession(title, work_dir, num_phases=6, verbose=args.verbose) as demo:
        with demo.phase('data') as phase:
            counts = make_synthetic_folder(DATA_ROOT)
            phase.info(f'{osp.relpath(DATA_ROOT, ROOT)}: {counts["train"]} train / {counts["val"]} val')

        def shown(metrics: dict) -> str:
            return f'top-1 {metrics["accuracy/top1"]:.2f}'

        checkpoint = demo.train(cfg)
        rows = {'clean': demo.evaluate('clean', cfg, checkpoint, shown)}
        rows['centre occluded'] = demo.evaluate(
            'occlusion', robustness.enable_occlusion(copy.deepcopy(cfg), size=112), checkpoint, shown)
        rows[f'FGSM eps={args.fgsm_eps:.4f}'] = demo.evaluate(
            'fgsm', robustness.enable_fgsm(copy.deepcopy(cfg), eps=args.fgsm_eps), checkpoint, shown)
        with demo.phase('load as a dense backbone') as phase:
            backbone = MODELS.build(dict(backbone_cfg, img_size=512, out_indices=(3, 5, 7, 11)))
            notes = load_pretrained(backbone, checkpoint=checkpoint)
            phase.info('strict: every backbone key loaded')
        demo.summary('top-1 / top-5 on the 64 generated validation images', COLUMNS, rows,
                     {'checkpoint': checkpoint, 'train logs': osp.join(work_dir, '<timestamp>')})
        demo.console.print('the checkpoint as a Segmenter/UperNet/Mask R-CNN backbone (strict):\n  '
                           + '\n  '.join(notes), highlight=False, markup=False)
    return rows


if __name__ == '__main__':
    main()
