"""What a reproduced table is made of: runs (train, test, complexity, copy) and the table they fill."""
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PAPER_GPUS = 8  # every table's protocol is written for 8 GPUs
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
    reference: Optional['Run'] = None  # corruption test: the run its corruption errors are relative to
    target: str = ''  # copy: destination
    cell: Optional[Tuple[str, str]] = None
    metric: str = ''
    scale: float = 1.0  # metric file value x scale = the paper's unit
    reads: List[Tuple[Tuple[str, str], str, float]] = field(default_factory=list)  # every (cell, metric, scale)

    @property
    def stem(self) -> str:
        return osp.splitext(osp.basename(self.config))[0]

    @property
    def corruptions(self) -> bool:
        """A ``tools/test.py --corruptions`` run: its output is ``corruptions.json``."""
        return '--corruptions' in self.flags

    def key(self) -> tuple:
        return (self.kind, self.config, self.seed, self.options, self.flags, self.tag, self.target,
                self.reference.key() if self.reference else None)


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
             scale: float = 1.0, reference: Optional[Run] = None) -> Run:
    return Run('test', train.config, train.seed, train.options, tuple(flags), tag, train, reference, cell=cell,
               metric=metric, scale=scale)


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
