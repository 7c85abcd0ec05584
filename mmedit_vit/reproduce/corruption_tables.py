"""Corruption robustness tables: ADE20K-C and COCO-C (``tools/test.py --corruptions benchmark``, 15 corruptions x
5 severities per model, P / mPC / rPC as Michaelis et al. 2019) and ImageNet-C (the released images,
``--test-set imagenet-c``, AlexNet-normalised mCE). Each cell is the mean ± std over training seeds; mCE
against a model is relative to the DeiT-III control of the same head and seed."""
from typing import List, Optional, Sequence, Tuple

from .runs import Run, Table, dense_runs, test_run, train_run

VARIANTS = {'deit3': 'DeiT-III', 'edit': 'EDIT', 'cb': 'CB', 'gated': 'gated', 'reg4': 'registers (4)'}
REFERENCE = 'deit3'
FAMILY_COLUMNS = [(family, f'summary.families.{family}') for family in ('noise', 'blur', 'weather', 'digital')]
COLUMNS = ([('clean', 'summary.clean')] + FAMILY_COLUMNS +
           [('mean', 'summary.benchmark_mean'), ('drop', 'summary.drop'), ('mCE', 'summary.mCE')])
DENSE_COLUMNS = ([('P', 'summary.P')] + FAMILY_COLUMNS +
                 [('mPC', 'summary.mPC'), ('rPC', 'summary.rPC'), ('mCE', 'summary.mCE')])
RATIOS = ('rPC', 'mCE')  # percent of another number: not rescaled to the table's unit
FLAGS = ('--corruptions', 'benchmark')
RELEASED_FLAGS = ('--test-set', 'imagenet-c', '--corruptions', 'all')
RELEASED_COLUMNS = [('clean', 'summary.clean_error'), ('mCE', 'summary.alexnet.mCE'),
                    ('relative mCE', 'summary.alexnet.relative_mCE'), ('hold-out', 'summary.holdout_error'),
                    ('mCE (DeiT-III = 100)', 'summary.mCE')]
TAG = 'test_corruptions'


def _corruption_tests(row: str, train: Run, scale: float, reference: Optional[Run],
                      columns: Sequence[Tuple[str, str]] = COLUMNS) -> Tuple[Run, List[Run]]:
    """One ``--corruptions benchmark`` run per cell it fills (deduplicated by ``build_table``); the first is
    the run a later row's CE refers to."""
    cells = [(col, key) for col, key in columns if reference is not None or col != 'mCE']
    runs = [test_run(train, (row, col), key, FLAGS, tag=TAG, scale=1.0 if col in RATIOS else scale,
                     reference=reference) for col, key in cells]
    return runs[0], runs


def _dense_table(table_id: str, title: str, heads: Sequence[Tuple[str, str]], size: str, scale: float,
                 seeds: Sequence[int]) -> Table:
    """``heads``: (row prefix, config pattern with {variant} and {size})."""
    rows = [f'{head} {name}' for head, _ in heads for name in VARIANTS.values()]
    table = Table(table_id, title, rows, [c for c, _ in DENSE_COLUMNS], {})
    for head, pattern in heads:
        references = {}
        for variant, name in VARIANTS.items():  # DeiT-III first: the others' CE reference
            before, trains = dense_runs(pattern.format(variant=variant, size=size),
                                        f'configs/cls_{variant}_{size}_in1k.py', seeds)
            table.runs += before
            for train in trains:
                first, tests = _corruption_tests(f'{head} {name}', train, scale, references.get(train.seed),
                                                 DENSE_COLUMNS)
                table.runs += [train] + tests
                if variant == REFERENCE:
                    references[train.seed] = first
    return table


def _notes(table: Table, unit: str) -> Table:
    if 'P' in table.columns:
        table.notes.append(f'P (clean), families and mPC in {unit}; mPC = the mean over the 15 benchmark '
                           'corruptions x 5 severities; rPC = 100 mPC / P (Michaelis et al. 2019).')
    else:
        table.notes.append(f'clean, families, mean and drop in {unit}; mean = the 15 benchmark corruptions x 5 '
                           'severities; drop = clean - mean.')
    table.notes += ['mCE: corruption error summed over severities, relative to the DeiT-III row of the same '
                    'head and seed, mean over the 15 corruptions (100 = as robust as DeiT-III).',
                    'The corruptions are the imagecorruptions definitions (not all ImageNet-C\'s: '
                    'docs/robustness.md), applied to the loaded image before resizing (tools/test.py '
                    '--corruptions). No paper numbers.']
    return table


def ade20k_c(seeds: Sequence[int]) -> Table:
    heads = [('UperNet', 'configs/upernet_{variant}_{size}_ade20k.py'),
             ('Segmenter', 'configs/segmenter_{variant}_{size}_ade20k.py')]
    return _notes(_dense_table('ade20k-c', 'ADE20K-C: UperNet and Segmenter ViT-S, every backbone variant (mIoU)',
                               heads, 's', 1.0, seeds), 'mIoU')


def coco_c(seeds: Sequence[int]) -> Table:
    heads = [('Mask R-CNN', 'configs/maskrcnn_{variant}_{size}_coco.py')]
    return _notes(_dense_table('coco-c', 'COCO-C: Mask R-CNN + FPN (1x) ViT-Ti, every backbone variant (box AP)',
                               heads, 't', 100.0, seeds), 'box AP')


def imagenet_c(seeds: Sequence[int]) -> Table:
    """The released ImageNet-C (``--test-set imagenet-c``, data/imagenet-c): errors and AlexNet-normalised
    mCE, comparable with published ones."""
    rows = [f'ViT-S {name}' for name in VARIANTS.values()]
    table = Table('imagenet-c', 'ImageNet-C (released images): every classifier variant at ViT-S (top-1 error)', rows,
                  [c for c, _ in RELEASED_COLUMNS], {})
    references = {}
    for variant, name in VARIANTS.items():
        for s in seeds:
            train = train_run(f'configs/cls_{variant}_s_in1k.py', s)
            reference = references.get(s)
            tests = [test_run(train, (f'ViT-S {name}', col), key, RELEASED_FLAGS, tag=TAG + '_released',
                              reference=reference)
                     for col, key in RELEASED_COLUMNS if reference is not None or col != 'mCE (DeiT-III = 100)']
            table.runs += [train] + tests
            if variant == REFERENCE:
                references[s] = tests[0]
    table.notes += ['Top-1 error (%) on the released ImageNet-C images (data/imagenet-c, all 19 corruptions x 5 '
                    'severities); clean = the ImageNet val error under the config\'s test pipeline.',
                    'mCE and relative mCE: normalised by AlexNet\'s errors (100 = AlexNet), over the 15 benchmark '
                    'corruptions, comparable with published ImageNet-C numbers; hold-out = the mean error of the 4 '
                    'hold-out corruptions.',
                    'mCE (DeiT-III = 100): corruption error relative to the DeiT-III row of the same seed. No paper '
                    'numbers.']
    return table
