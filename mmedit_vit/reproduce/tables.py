"""The papers' tables as lists of runs (``TABLES``: id -> (one line, builder of the table for some seeds))."""
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from ..analysis import paper_tables as paper
from . import corruption_tables
from .runs import SIZE_NAMES, Run, Table, dense_runs, pretrain_runs, test_run, train_run


def _edit_table1(seeds: Sequence[int]) -> Table:
    rows = ['EDIT-T', 'EDIT-S', 'EDIT-B']
    cols = ['Params (M)', 'FLOPs (G)']
    table = Table('edit-table1', 'EDIT paper, Table 1: parameters and FLOPs of the EDIT classifiers (224x224, CPU)',
                  rows, cols, {})
    for row, size in zip(rows, ('tiny', 'small', 'base')):
        params, flops = paper.EDIT_TABLE1[size]
        table.paper[(row, cols[0])], table.paper[(row, cols[1])] = params, flops
        config = f'configs/cls_edit_{size[0]}_in1k.py'
        table.runs.append(Run('complexity', config, cell=(row, cols[0]), metric='params', scale=1e-6))
        table.runs.append(Run('complexity', config, cell=(row, cols[1]), metric='flops', scale=1e-9))
    table.notes.append('Deterministic: one run per cell whatever --seeds says.')
    return table


def _edit_table2(seeds: Sequence[int]) -> Table:
    transfer = {'CIFAR-10': 'cifar10', 'CIFAR-100': 'cifar100', 'Flowers-102': 'flowers102', 'DTD': 'dtd',
                'Caltech-256': 'caltech256'}
    rows = [f'{m}-{s}' for m in ('DeiT3', 'EDIT') for s in 'TSB']
    ft = {'21k->1k': '', '21k->1k @384': '_384'}
    cols = ['ImageNet-1k'] + list(ft) + list(transfer)
    table = Table('edit-table2', 'EDIT paper, Tables 3 and 4: ImageNet-1k top-1 (Table 2 recipes), ImageNet-21k '
                  'pretraining fine-tuned on ImageNet-1k, transfer of the Base models', rows, cols, {})
    for row in rows:
        table.paper[(row, 'ImageNet-1k')] = paper.EDIT_TABLE3_IN1K[row]
        for col, value in zip(ft, paper.EDIT_TABLE3_IN21K.get(row, ())):
            table.paper[(row, col)] = value
        for col, value in paper.EDIT_TABLE4.get(row, {}).items():
            table.paper[(row, col)] = value
    for row in rows:
        variant, size = ('deit3' if row.startswith('DeiT3') else 'edit'), row[-1].lower()
        config = f'configs/cls_{variant}_{size}_in1k.py'
        for s in seeds:
            train = train_run(config, s)
            table.runs += [train, test_run(train, (row, 'ImageNet-1k'), 'accuracy/top1')]
        if size in 'sb':  # Table 3 (b): 21k pretraining (seed 0), then 1k fine-tuning per seed
            before, target = pretrain_runs(f'configs/cls_{variant}_{size}_in21k.py')
            table.runs += before
            for col, suffix in ft.items():
                for s in seeds:
                    train = train_run(f'configs/cls_{variant}_{size}_in21k-ft-in1k{suffix}.py', s,
                                      [f'model.backbone.init_cfg.checkpoint={target}'])
                    table.runs += [train, test_run(train, (row, col), 'accuracy/top1')]
        if size == 'b':
            before, target = pretrain_runs(config)
            table.runs += before
            for col, dataset in transfer.items():
                _, trains = dense_runs(f'configs/cls_{variant}_b_{dataset}.py', None, seeds)
                for train in trains:
                    train.options = (f'model.backbone.init_cfg.checkpoint={target}',)
                    table.runs += [train, test_run(train, (row, col), 'accuracy/top1')]
    table.notes.append('Transfer runs start from the seed-0 ImageNet-1k model, 21k->1k fine-tuning from the '
                       'seed-0 ImageNet-21k model of the same backbone (Table 3 (b): S and B only).')
    return table


def _edit_table5(seeds: Sequence[int]) -> Table:
    rows = ['Seg-S DeiT3', 'Seg-B DeiT3', 'Seg-S EDIT', 'Seg-B EDIT']
    cols = ['single-scale mIoU', 'multi-scale mIoU']
    table = Table('edit-table5', 'EDIT paper, Table 5: Segmenter mask transformer on ADE20K (160k iterations)',
                  rows, cols, {})
    for row in rows:
        table.paper[(row, cols[0])], table.paper[(row, cols[1])] = paper.EDIT_TABLE5[row]
        size, variant = row[4].lower(), row.split()[1].lower()
        before, trains = dense_runs(f'configs/segmenter_{variant}_{size}_ade20k.py',
                                    f'configs/cls_{variant}_{size}_in1k.py', seeds)
        table.runs += before
        for train in trains:
            table.runs += [train, test_run(train, (row, cols[0]), 'mIoU'),
                           test_run(train, (row, cols[1]), 'mIoU', ['--tta'], tag='test_tta')]
    return table


def _cb_pretrain(variant: str, size: str) -> str:
    """The CB paper's ImageNet ViTs are DeiT-recipe ViTs without LayerScale; its CB models the same with CB."""
    return f'configs/cls_deit_{size}_in1k.py' if variant == 'deit3' else f'configs/cls_cb_{size}_in1k.py'


def _cb_options(variant: str) -> List[str]:
    """The CB paper's own control: the dense DeiT-III config turned into the DeiT ViT (configs/PROTOCOLS.md)."""
    return ['model.backbone.layer_scale_init=None'] if variant == 'deit3' else []


def _cb_rows(sizes: str) -> List[Tuple[str, str, str]]:
    return [(f'ViT-{SIZE_NAMES[s]}' + (' + CB' if v == 'cb' else ''), v, s) for s in sizes for v in ('deit3', 'cb')]


def _cb_table6(seeds: Sequence[int]) -> Table:
    rows = _cb_rows('tsb')
    cols = ['40K mIoU', '160K mIoU']
    table = Table('cb-table6', 'CB paper, Table 6: UperNet on ADE20K, 40k and 160k iterations',
                  [r for r, _, _ in rows], cols, {})
    for row, variant, size in rows:
        table.paper[(row, cols[0])], table.paper[(row, cols[1])] = paper.CB_TABLE6[row]
        for col, suffix in zip(cols, ('_40k', '')):
            before, trains = dense_runs(f'configs/upernet_{variant}_{size}_ade20k{suffix}.py',
                                        _cb_pretrain(variant, size), seeds, _cb_options(variant))
            table.runs += before
            for train in trains:
                table.runs += [train, test_run(train, (row, col), 'mIoU')]
    table.notes.append('The CB_s rows of the paper have no config here.')
    return table


def _cb_table7(seeds: Sequence[int]) -> Table:
    rows = _cb_rows('t')
    metrics = [('AP^b', 'coco/bbox_mAP'), ('AP^b_50', 'coco/bbox_mAP_50'), ('AP^b_75', 'coco/bbox_mAP_75'),
               ('AP^m', 'coco/segm_mAP'), ('AP^m_50', 'coco/segm_mAP_50'), ('AP^m_75', 'coco/segm_mAP_75')]
    table = Table('cb-table7', 'CB paper, Table 7: Mask R-CNN + FPN (1x) on COCO, ViT-Ti',
                  [r for r, _, _ in rows], [c for c, _ in metrics], {})
    for row, variant, size in rows:
        for (col, _), value in zip(metrics, paper.CB_TABLE7[row]):
            table.paper[(row, col)] = value
        before, trains = dense_runs(f'configs/maskrcnn_{variant}_{size}_coco.py', _cb_pretrain(variant, size), seeds,
                                    _cb_options(variant))
        table.runs += before
        for train in trains:
            table.runs.append(train)
            table.runs += [test_run(train, (row, col), key, scale=100.0) for col, key in metrics]
    return table


FGSM_EPS = 1 / 255


def _cb_table8(seeds: Sequence[int]) -> Table:
    rows = _cb_rows('s')
    cols = ['Occ', 'ImageNet-A', 'FGSM']
    flags = {'Occ': ['--occlusion'], 'ImageNet-A': ['--test-set', 'imagenet-a'], 'FGSM': ['--fgsm', f'{FGSM_EPS:.6f}']}
    table = Table('cb-table8', 'CB paper, Table 8: ViT-S robustness on ImageNet (top-1)', [r for r, _, _ in rows],
                  cols, {})
    for row, variant, size in rows:
        for col, value in zip(cols, paper.CB_TABLE8[row]):
            table.paper[(row, col)] = value
        for s in seeds:
            train = train_run(_cb_pretrain(variant, size), s)
            table.runs.append(train)
            table.runs += [test_run(train, (row, col), 'accuracy/top1', flags[col], tag=f'test_{col.lower()}')
                           for col in cols]
    table.notes.append('The paper does not give the FGSM step; here eps = 1/255 on the 0-1 pixel scale.')
    return table


def _cb_table9(seeds: Sequence[int]) -> Table:
    perturbations = {'Nothing': None, 'Shot Noise': 'shot_noise', 'Gaussian Noise (sigma=5)': 'gaussian_noise_5',
                     'Gaussian Noise (sigma=10)': 'gaussian_noise_10', 'Gaussian Blur (sigma=1)': 'gaussian_blur_1',
                     'Gaussian Blur (sigma=2)': 'gaussian_blur_2'}
    cols = ['ViT-S', 'CB']
    table = Table('cb-table9', 'CB paper, Table 9: UperNet ViT-S on ADE20K under input perturbations (mIoU)',
                  list(perturbations), cols, {})
    for row, values in paper.CB_TABLE9.items():
        table.paper[(row, cols[0])], table.paper[(row, cols[1])] = values
    for col, variant in zip(cols, ('deit3', 'cb')):
        before, (train,) = dense_runs(f'configs/upernet_{variant}_s_ade20k.py', _cb_pretrain(variant, 's'), [0],
                                      _cb_options(variant))
        table.runs += before + [train]
        for row, name in perturbations.items():
            if name is None:
                table.runs.append(test_run(train, (row, col), 'mIoU'))
                continue
            noise_seeds = [0] if name.startswith('gaussian_blur') else list(range(len(seeds)))
            table.runs += [test_run(train, (row, col), 'mIoU', ['--perturb', name, '--perturb-seed', str(p)],
                                    tag=f'test_{name}_seed{p}') for p in noise_seeds]
    table.notes.append('One trained model per backbone (seed 0); the spread is over --seeds noise seeds '
                       '(the paper: 5). Blur is deterministic: one run.')
    return table


def _in100_table(table_id: str, title: str, rows: Dict[str, str], seeds: Sequence[int],
                 extra: Sequence[Tuple[str, List[str], str]] = ()) -> Table:
    """ImageNet-100 runs of the gated proposal (their configs record norms and gate scores every 10 epochs)."""
    cols = ['top-1'] + [c for c, _, _ in extra]
    table = Table(table_id, title, list(rows), cols, {})
    for row, config in rows.items():
        for s in seeds:
            train = train_run(config, s)
            table.runs += [train, test_run(train, (row, 'top-1'), 'accuracy/top1')]
            table.runs += [test_run(train, (row, col), 'accuracy/top1', flags, tag=tag) for col, flags, tag in extra]
    table.notes.append('The proposal gives no numbers. Every training run records token norms and gate scores '
                       'every 10 epochs (SinkStatsHook) into <work dir>/sink_stats.jsonl.')
    return table


def _gated_exp(n: int) -> Callable[[Sequence[int]], Table]:
    def build(seeds: Sequence[int]) -> Table:
        if n == 1:
            return _in100_table('gated-exp1', 'Gated proposal, experiment 1: vanilla ViT-S on ImageNet-100, '
                                'when do high-norm tokens appear', {'ViT-S': 'configs/cls_deit3_s_in100.py'}, seeds)
        if n == 2:
            rows = {f'ViT-S + {k} registers': f'configs/cls_reg{k}_s_in100.py' for k in (2, 4, 8, 16, 32)}
            rows.update({'ViT-S + 4 registers, lr 1e-3': 'configs/cls_reg4_s_in100_lr1e-3.py',
                         'ViT-S + 4 registers, lr 5e-3': 'configs/cls_reg4_s_in100_lr5e-3.py'})
            return _in100_table('gated-exp2', 'Gated proposal, experiment 2: registers K in {2,4,8,16,32} and the '
                                'lr sweep at K=4 (lr 3e-3 is the K=4 row)', rows, seeds)
        if n == 3:
            rows = {'gated (SDPA), lr 1e-3': 'configs/cls_gated_s_in100_lr1e-3.py',
                    'gated (SDPA), lr 3e-3': 'configs/cls_gated_s_in100.py',
                    'gated (SDPA), lr 5e-3': 'configs/cls_gated_s_in100_lr5e-3.py',
                    'gated (value), lr 3e-3': 'configs/cls_gated_s_in100_value.py'}
            return _in100_table('gated-exp3', 'Gated proposal, experiment 3: gated ViT-S, lr sweep and value gating',
                                rows, seeds)
        rows = {'ViT-S': 'configs/cls_deit3_s_in100.py', 'gated ViT-S': 'configs/cls_gated_s_in100.py'}
        extra = [('ImageNet-A', ['--test-set', 'imagenet-a'], 'test_imagenet-a'),
                 ('ImageNet-R', ['--test-set', 'imagenet-r'], 'test_imagenet-r')]
        return _in100_table('gated-exp4', 'Gated proposal, experiment 4: ImageNet-A and ImageNet-R of the '
                            'ImageNet-100 models', rows, seeds, extra)
    return build


def _vitdet_table(seeds: Sequence[int]) -> Table:
    """ViTDet Mask R-CNN (windowed backbone, simple pyramid, LSJ, 100 epochs) for every variant at S and B."""
    metrics = [('AP^b', 'coco/bbox_mAP'), ('AP^b_50', 'coco/bbox_mAP_50'), ('AP^b_75', 'coco/bbox_mAP_75'),
               ('AP^m', 'coco/segm_mAP'), ('AP^m_50', 'coco/segm_mAP_50'), ('AP^m_75', 'coco/segm_mAP_75')]
    complexity = [('Params (M)', 'params', 1e-6), ('FLOPs (G)', 'flops', 1e-9)]
    cells = [(size, variant, f'ViTDet-{SIZE_NAMES[size]} {name}') for size in 'sb'
             for variant, name in corruption_tables.VARIANTS.items()]
    table = Table('vitdet', 'ViTDet Mask R-CNN on COCO (100 epochs, LSJ 1024): every backbone variant at ViT-S and '
                  'ViT-B', [row for _, _, row in cells], [c for c, _ in metrics] + [c for c, _, _ in complexity], {})
    for size, variant, row in cells:
        config = f'configs/vitdet_maskrcnn_{variant}_{size}_coco.py'
        table.runs += [Run('complexity', config, cell=(row, col), metric=key, scale=scale)
                       for col, key, scale in complexity]
        before, trains = dense_runs(config, f'configs/cls_{variant}_{size}_in1k.py', seeds)
        table.runs += before
        for train in trains:
            table.runs.append(train)
            table.runs += [test_run(train, (row, col), key, scale=100.0) for col, key in metrics]
    table.notes += ['Backbones start from the seed-0 ImageNet-1k model of the same variant and size (the paper: '
                    'MAE; its ViT-B reaches 51.6 box / 45.9 mask AP, detectron2 projects/ViTDet). No paper numbers.',
                    'Params / FLOPs: the whole detector on one 1024x1024 input (tools/get_flops.py).']
    return table


def _demo_table(seeds: Sequence[int]) -> Table:
    config = 'configs/demo/segmenter_edit_t_synthetic_ade20k.py'
    rows = {'Segmenter-T DeiT-III': ('model.backbone.type=PlainViT',), 'Segmenter-T EDIT': ()}
    table = Table('demo', 'Miniature: Segmenter-T (DeiT-III vs EDIT) on the generated ADE20K-format data (CPU)',
                  list(rows), ['mIoU'], {}, paper_gpus=None)
    for row, options in rows.items():
        for s in seeds:
            train = train_run(config, s, options)
            table.runs += [train, test_run(train, (row, 'mIoU'), 'mIoU')]
    table.notes.append('Data: python -m mmedit_vit.datasets.synthetic_ade20k data/synthetic_ade20k. No paper numbers.')
    return table


TABLES: Dict[str, Tuple[str, Callable[[Sequence[int]], Table]]] = {
    'edit-table1': ('EDIT Table 1: params / FLOPs of EDIT-T/S/B (CPU, seconds)', _edit_table1),
    'edit-table2': ('EDIT Tables 3a + 4: ImageNet-1k top-1 of DeiT3/EDIT-T/S/B and transfer of the B models',
                    _edit_table2),
    'edit-table5': ('EDIT Table 5: Segmenter-S/B (DeiT3, EDIT) on ADE20K, single- and multi-scale', _edit_table5),
    'cb-table6': ('CB Table 6: UperNet ViT-Ti/S/B +/- CB on ADE20K, 40k and 160k iterations', _cb_table6),
    'cb-table7': ('CB Table 7: Mask R-CNN ViT-Ti +/- CB on COCO, 1x', _cb_table7),
    'cb-table8': ('CB Table 8: ViT-S +/- CB on ImageNet: centre occlusion, ImageNet-A, FGSM', _cb_table8),
    'cb-table9': ('CB Table 9: UperNet ViT-S +/- CB on ADE20K under noise and blur (5 noise seeds)', _cb_table9),
    'gated-exp1': ('Gated proposal exp. 1: ViT-S on ImageNet-100 with token-norm tracking', _gated_exp(1)),
    'gated-exp2': ('Gated proposal exp. 2: registers K = 2..32 and the lr sweep at K = 4', _gated_exp(2)),
    'gated-exp3': ('Gated proposal exp. 3: gated ViT-S lr sweep and value gating, gate-score tracking',
                   _gated_exp(3)),
    'gated-exp4': ('Gated proposal exp. 4: ImageNet-A / ImageNet-R of vanilla and gated ViT-S', _gated_exp(4)),
    'ade20k-c': ('ADE20K-C: UperNet + Segmenter ViT-S, every variant, 15 corruptions x 5 severities',
                 corruption_tables.ade20k_c),
    'coco-c': ('COCO-C: Mask R-CNN ViT-Ti, every variant, 15 corruptions x 5 severities', corruption_tables.coco_c),
    'imagenet-c': ('ImageNet-C: every classifier variant at ViT-S on the released images, AlexNet-normalised mCE',
                   corruption_tables.imagenet_c),
    'vitdet': ('ViTDet Mask R-CNN (windows, simple pyramid, LSJ, 100 ep) on COCO, every variant at S and B',
               _vitdet_table),
    'demo': ('Miniature: Segmenter-T DeiT-III vs EDIT on generated data, a few CPU minutes', _demo_table),
}
DEFAULT_SEEDS = {'cb-table9': 5}


def build_table(table_id: str, num_seeds: Optional[int] = None) -> Table:
    if table_id not in TABLES:
        raise ValueError(f'table {table_id!r} is not known; choose one of {sorted(TABLES)}')
    n = num_seeds if num_seeds is not None else DEFAULT_SEEDS.get(table_id, 3)
    if not isinstance(n, int) or n < 1:
        raise ValueError(f'--seeds {n!r} must be a positive integer')
    table = TABLES[table_id][1](list(range(n)))
    unique: Dict[tuple, Run] = {}
    for run in table.runs:  # one command per run (pretraining shared by rows runs once, before its first user)
        kept = unique.setdefault(run.key(), run)
        if run.cell is not None:
            kept.reads.append((run.cell, run.metric, run.scale))
    table.runs = list(unique.values())
    return table
