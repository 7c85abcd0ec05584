"""The papers' tables as lists of runs: train, test, collect into the paper's layout beside its numbers.

A run is identified by its kind, config, seed and options, and has one work dir under ``work_root/runs``:
a classification run of seed 0 that one table reports is the same run another table's dense configs
start from (copied to ``pretrain/<config>.pth``). A run is done when its final checkpoint (training), its
metrics file (testing), its output (complexity, copy) exists; running a table again skips finished runs,
and a training run that was stopped continues from its last checkpoint (``tools/train.py --resume``).
"""
import glob
import json
import os
import os.path as osp
import shlex
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from ..analysis import paper_tables as paper
from .run_config import LAUNCHERS as RUN_LAUNCHERS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PAPER_GPUS = 8  # every table's protocol is written for 8 GPUs
LAUNCHERS = tuple(name for name in RUN_LAUNCHERS if name != 'mpi')  # the launch scripts written here
SIZE_NAMES = {'t': 'Ti', 's': 'S', 'b': 'B'}


@dataclass
class Run:
    """One command of a table. ``cell`` is the (row, column) its ``metric`` fills (test and complexity runs)."""
    kind: str  # 'train' | 'test' | 'complexity' | 'copy'
    config: str  # path relative to the repository root
    seed: Optional[int] = None
    options: Tuple[str, ...] = ()  # --cfg-options of this run (training and testing)
    flags: Tuple[str, ...] = ()  # test.py flags (--tta, --perturb ...)
    tag: str = ''  # names a test run in its training run's work dir
    train: Optional['Run'] = None  # the training run a test or copy reads
    target: str = ''  # copy: destination
    cell: Optional[Tuple[str, str]] = None
    metric: str = ''
    scale: float = 1.0  # metric file value x scale = the paper's unit
    reads: List[Tuple[Tuple[str, str], str, float]] = field(default_factory=list)  # every (cell, metric, scale)

    @property
    def stem(self) -> str:
        return osp.splitext(osp.basename(self.config))[0]

    def key(self) -> tuple:
        return (self.kind, self.config, self.seed, self.options, self.flags, self.tag, self.target)


@dataclass
class Table:
    id: str
    title: str
    rows: List[str]
    columns: List[str]
    paper: Dict[Tuple[str, str], float]
    runs: List[Run] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    paper_gpus: Optional[int] = PAPER_GPUS  # None: the runs are not scaled to the papers' batch (demo)


# ------------------------------------------------------------------------------------------ run helpers
def train_run(config: str, seed: int, options: Sequence[str] = ()) -> Run:
    return Run('train', config, seed, tuple(options))


def test_run(train: Run, cell: Tuple[str, str], metric: str, flags: Sequence[str] = (), tag: str = 'test',
             scale: float = 1.0) -> Run:
    return Run('test', train.config, train.seed, train.options, tuple(flags), tag, train, cell=cell, metric=metric,
               scale=scale)


def pretrain_runs(cls_config: str) -> Tuple[List[Run], str]:
    """Training of a classification config (seed 0) and the copy of its final checkpoint to pretrain/."""
    stem = osp.splitext(osp.basename(cls_config))[0]
    target = f'pretrain/{stem}.pth'
    train = train_run(cls_config, 0)
    return [train, Run('copy', cls_config, 0, train=train, target=target)], target


def dense_runs(config: str, pretrain_config: Optional[str], seeds: Sequence[int],
               options: Sequence[str] = ()) -> Tuple[List[Run], List[Run]]:
    """(pretraining runs, one training run per seed) of a dense config starting from ``pretrain_config``."""
    before, options = [], list(options)
    if pretrain_config:
        before, target = pretrain_runs(pretrain_config)
        options.append(f'model.backbone.init_cfg.checkpoint={target}')
    return before, [train_run(config, s, options) for s in seeds]


# ---------------------------------------------------------------------------------------------- tables
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


# -------------------------------------------------------------------------------------------- commands
@dataclass
class Plan:
    """How runs become commands: launcher, number of GPUs, output folder and shared options."""
    work_root: str = 'work_dirs/reproduce'
    gpus: int = 8
    launcher: str = 'pytorch'
    cfg_options: Tuple[str, ...] = ()
    auto_scale_lr: bool = False
    partition: str = 'gpu'
    python: str = sys.executable
    scale_batch: bool = True  # False for tables not written for 8 GPUs (the demo)
    _configs: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.launcher not in LAUNCHERS:
            raise ValueError(f'launcher={self.launcher!r} is not supported; choose one of {LAUNCHERS}')
        if not isinstance(self.gpus, int) or self.gpus < 1 or (PAPER_GPUS % self.gpus and self.gpus < PAPER_GPUS):
            raise ValueError(f'gpus={self.gpus!r}: use 1, 2, 4, 8 or a multiple of 8')
        if self.launcher == 'none' and self.gpus != 1:
            raise ValueError(f'--launcher none runs one process; got --gpus {self.gpus} (use pytorch or slurm)')

    def config(self, run: Run):
        """The run's config with the shared and the run's own options applied (read once per config)."""
        key = (run.config, self.cfg_options, run.options)
        if key not in self._configs:
            from mmengine.config import Config
            cfg = Config.fromfile(osp.join(ROOT, run.config))
            options = _parse_options(self.cfg_options + run.options)
            if options:
                cfg.merge_from_dict(options)
            self._configs[key] = cfg
        return self._configs[key]

    def work_dir(self, run: Run) -> str:
        base = run.train if run.kind in ('test', 'copy') else run
        name = base.stem + ('' if base.seed is None else f'_seed{base.seed}')
        if base.options:
            name += '_' + _short_hash(base.options)
        if run.kind == 'complexity':
            return osp.join(self.work_root, 'runs', run.stem + '_complexity')
        path = osp.join(self.work_root, 'runs', name)
        return osp.join(path, run.tag) if run.kind == 'test' else path

    def final_checkpoint(self, train: Run) -> str:
        cfg = self.config(train).get('train_cfg', {})
        if cfg.get('max_iters'):
            name = f"iter_{cfg['max_iters']}.pth"
        elif cfg.get('max_epochs'):
            name = f"epoch_{cfg['max_epochs']}.pth"
        else:
            raise ValueError(f'{train.config}: train_cfg has neither max_iters nor max_epochs')
        return osp.join(self.work_dir(train), name)

    def batch_options(self, train: Run) -> List[str]:
        """Keeps the papers' total batch on fewer GPUs (the same lr, iterations and epochs)."""
        if not self.scale_batch or self.gpus >= PAPER_GPUS or self.auto_scale_lr:
            return []
        factor = PAPER_GPUS // self.gpus
        cfg = self.config(train)
        if cfg.get('train_cfg', {}).get('max_iters'):  # iteration-based (segmentation): a larger per-GPU batch
            return [f'train_dataloader.batch_size={cfg.train_dataloader.batch_size * factor}']
        counts = cfg.optim_wrapper.get('accumulative_counts', 1)  # epoch-based: accumulate gradients
        return [f'optim_wrapper.accumulative_counts={counts * factor}']

    def command(self, run: Run) -> List[str]:
        """The argv of ``run`` (a copy is shown as ``cp``; a complexity count writes its output file)."""
        if run.kind == 'copy':
            return ['cp', self.final_checkpoint(run.train), run.target]
        if run.kind == 'complexity':
            return [self.python, 'tools/get_flops.py', run.config]
        options = list(self.cfg_options) + list(run.options)
        if run.kind == 'train':
            tool, args = 'train', [run.config, '--work-dir', self.work_dir(run), '--resume']
            options += [f'randomness.seed={run.seed}'] + self.batch_options(run)
            if self.auto_scale_lr:
                args.append('--auto-scale-lr')
        else:
            tool = 'test'
            args = [run.config, self.final_checkpoint(run.train), '--work-dir', self.work_dir(run)] + list(run.flags)
        if options:
            args += ['--cfg-options'] + options
        if self.launcher == 'none':
            return [self.python, f'tools/{tool}.py'] + args
        if self.launcher == 'pytorch':
            if tool == 'train':
                return ['bash', 'tools/dist_train.sh', args[0], str(self.gpus)] + args[1:]
            return ['bash', 'tools/dist_test.sh', args[0], args[1], str(self.gpus)] + args[2:]
        job = f'{run.stem}_s{run.seed}'
        head = ['env', f'GPUS={self.gpus}', 'bash', f'tools/slurm_{tool}.sh', self.partition, job]
        return head + args

    def output(self, run: Run) -> str:
        """The file whose existence says the run is done."""
        if run.kind == 'train':
            return self.final_checkpoint(run)
        if run.kind == 'copy':
            return run.target
        if run.kind == 'complexity':
            return osp.join(self.work_dir(run), 'complexity.json')
        found = metric_files(self.work_dir(run))
        return found[-1] if found else osp.join(self.work_dir(run), '<timestamp>', '<timestamp>.json')

    def done(self, run: Run) -> bool:
        if run.kind == 'test':
            return bool(metric_files(self.work_dir(run)))
        return osp.isfile(osp.join(ROOT, self.output(run)))  # join keeps an absolute output as it is


def _parse_options(items: Sequence[str]) -> dict:
    from mmengine.config import DictAction
    out = {}
    for item in items:
        key, value = item.split('=', 1)
        out[key] = DictAction._parse_iterable(value)
    return out


def _short_hash(options: Sequence[str]) -> str:
    import hashlib
    return hashlib.sha1('\n'.join(options).encode()).hexdigest()[:6]


def metric_files(test_work_dir: str) -> List[str]:
    """The metrics json files mmengine writes for each test (``<dir>/<timestamp>/<timestamp>.json``)."""
    path = test_work_dir if osp.isabs(test_work_dir) else osp.join(ROOT, test_work_dir)
    return sorted(p for p in glob.glob(osp.join(path, '*', '*.json')) if osp.basename(osp.dirname(p)) ==
                  osp.splitext(osp.basename(p))[0])


def format_command(argv: Sequence[str]) -> str:
    return ' '.join(shlex.quote(a) for a in argv)


def dry_run(table: Table, plan: Plan) -> List[str]:
    lines = [f'# {table.id}: {table.title}', f'# {len(table.runs)} runs, {plan.gpus} GPU(s), launcher '
             f'{plan.launcher}; [done] marks runs whose outputs exist']
    for run in table.runs:
        mark = '[done] ' if plan.done(run) else ''
        command = format_command(plan.command(run))
        if run.kind == 'complexity':
            command += f' > {plan.output(run)}'
        lines.append(f'{mark}{command}')
    return lines


def execute(table: Table, plan: Plan, log: Callable[[str], None] = print) -> None:
    """Runs the table's commands in order from the repository root, skipping finished runs."""
    for i, run in enumerate(table.runs, 1):
        command = plan.command(run)
        if plan.done(run):
            log(f'[{i}/{len(table.runs)}] done, skipped: {format_command(command)}')
            continue
        log(f'[{i}/{len(table.runs)}] {format_command(command)}')
        if run.kind == 'copy':
            os.makedirs(osp.dirname(osp.join(ROOT, run.target)) or '.', exist_ok=True)
            shutil.copyfile(osp.join(ROOT, command[1]), osp.join(ROOT, run.target))
            continue
        proc = subprocess.run(command, cwd=ROOT, capture_output=run.kind == 'complexity', text=True)
        if proc.returncode != 0:
            raise RuntimeError(f'{table.id}: run {i} failed with exit {proc.returncode}: {format_command(command)}'
                               + (f'\n{proc.stderr[-2000:]}' if run.kind == 'complexity' else ''))
        if run.kind == 'complexity':
            _write_complexity(proc.stdout, osp.join(ROOT, plan.output(run)))


def _write_complexity(stdout: str, path: str) -> None:
    values = {}
    for line in stdout.splitlines():
        if line.startswith('params:'):
            values['params'] = float(line.split()[1].rstrip('M')) * 1e6
        elif line.startswith('flops:'):
            values['flops'] = float(line.split()[1].rstrip('G')) * 1e9
    if set(values) != {'params', 'flops'}:
        raise RuntimeError(f'tools/get_flops.py printed no params/flops lines:\n{stdout[-1000:]}')
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(values, f)


# --------------------------------------------------------------------------------------------- collect
def read_metric(plan: Plan, run: Run, metric: str, scale: float = 1.0) -> Optional[float]:
    """``metric`` of the run's output in the paper's unit, or None when the run has not finished."""
    if run.kind == 'complexity':
        path = osp.join(ROOT, plan.output(run))
        if not osp.isfile(path):
            return None
        with open(path) as f:
            return json.load(f)[metric] * scale
    files = metric_files(plan.work_dir(run))
    if not files:
        return None
    with open(files[-1]) as f:
        metrics = json.load(f)
    if metric not in metrics:
        raise KeyError(f'{files[-1]} has no {metric!r}; it has {sorted(metrics)}')
    return float(metrics[metric]) * scale


def collect(table: Table, plan: Plan, out_dir: Optional[str] = None) -> dict:
    """Mean and std over the runs of each cell beside the paper's number; writes table.md, table.csv, table.png.

    A cell's runs are its seeds (or noise seeds); ``std`` is the sample standard deviation (0 for one run).
    """
    values: Dict[Tuple[str, str], List[float]] = {}
    missing: List[str] = []
    for run in table.runs:
        for cell, metric, scale in run.reads:
            value = read_metric(plan, run, metric, scale)
            if value is None:
                missing.append(format_command(plan.command(run)))
                break
            values.setdefault(cell, []).append(value)
    cells = {}
    for row in table.rows:
        for col in table.columns:
            got = values.get((row, col), [])
            cells[(row, col)] = dict(
                mean=statistics.fmean(got) if got else None, std=statistics.stdev(got) if len(got) > 1 else 0.0,
                n=len(got), values=got, paper=table.paper.get((row, col)))
    out_dir = out_dir or osp.join(plan.work_root, table.id)
    out_abs = out_dir if osp.isabs(out_dir) else osp.join(ROOT, out_dir)
    os.makedirs(out_abs, exist_ok=True)
    markdown = _markdown(table, cells, missing)
    with open(osp.join(out_abs, 'table.md'), 'w') as f:
        f.write(markdown)
    with open(osp.join(out_abs, 'table.csv'), 'w') as f:
        f.write('row,column,mean,std,n,paper,values\n')
        for (row, col), c in cells.items():
            f.write(','.join([_csv(row), _csv(col), _num(c['mean']), _num(c['std'] if c['n'] else None), str(c['n']),
                              _num(c['paper']), _csv(' '.join(f'{v:.4f}' for v in c['values']))]) + '\n')
    _plot(table, cells, osp.join(out_abs, 'table.png'))
    return dict(cells=cells, missing=missing, out_dir=out_dir, markdown=markdown)


def _csv(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _num(value: Optional[float]) -> str:
    return '' if value is None else f'{value:.4f}'


def _markdown(table: Table, cells: dict, missing: List[str]) -> str:
    head = ['row'] + [f'{c} ({side})' for c in table.columns for side in ('ours', 'paper')]
    lines = [f'# {table.title}', '', 'ours: mean ± std over the runs of the cell (their number in brackets); '
             'paper: as printed', '', '| ' + ' | '.join(head) + ' |', '|---' + '|---:' * (len(head) - 1) + '|']
    for row in table.rows:
        out = [row]
        for col in table.columns:
            c = cells[(row, col)]
            out.append('—' if c['mean'] is None else f"{c['mean']:.2f} ± {c['std']:.2f} ({c['n']})")
            out.append('—' if c['paper'] is None else f"{c['paper']:g}")
        lines.append('| ' + ' | '.join(out) + ' |')
    lines += [''] + [f'- {n}' for n in table.notes]
    lines += ['', f'missing runs: {len(missing)}'] + [f'    {m}' for m in missing]
    return '\n'.join(lines) + '\n'


def _plot(table: Table, cells: dict, path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(table.columns), figsize=(3.2 * len(table.columns) + 1, 3.6), squeeze=False)
    for ax, col in zip(axes[0], table.columns):
        xs = range(len(table.rows))
        means = [cells[(r, col)]['mean'] or 0.0 for r in table.rows]
        stds = [cells[(r, col)]['std'] for r in table.rows]
        ax.bar([x - 0.2 for x in xs], means, 0.4, yerr=stds, capsize=3, label='ours')
        ax.bar([x + 0.2 for x in xs], [cells[(r, col)]['paper'] or 0.0 for r in table.rows], 0.4, label='paper')
        ax.set_xticks(list(xs))
        ax.set_xticklabels(table.rows, rotation=45, ha='right', fontsize=7)
        ax.set_title(col, fontsize=9)
    axes[0][0].legend(fontsize=7)
    fig.suptitle(table.title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


