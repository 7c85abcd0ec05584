"""The papers' tables as lists of runs: train, test, collect into the paper's layout beside its numbers.

A run is identified by its kind, config, seed and options, and has one work dir under ``work_root/runs``:
a classification run of seed 0 that one table reports is the same run another table's dense configs
start from (copied to ``pretrain/<config>.pth``). A run is done when its final checkpoint (training), its
metrics file (testing), its output (complexity, copy) exists; running a table again skips finished runs,
and a training run that was stopped continues from its last checkpoint (``tools/train.py --resume``).
"""
from .collect import collect, read_metric
from .iteration_scaling import epoch_scaling_options, iteration_scaling_options
from .plan import LAUNCHERS, Plan, dry_run, execute, format_command, metric_files
from .runs import PAPER_GPUS, ROOT, Run, Table, dense_runs, pretrain_runs, test_run, train_run
from .tables import DEFAULT_SEEDS, TABLES, build_table

__all__ = ['collect', 'read_metric', 'epoch_scaling_options', 'iteration_scaling_options', 'LAUNCHERS', 'Plan',
           'dry_run', 'execute', 'format_command', 'metric_files',
           'PAPER_GPUS', 'ROOT', 'Run', 'Table', 'dense_runs', 'pretrain_runs', 'test_run', 'train_run',
           'DEFAULT_SEEDS', 'TABLES', 'build_table']
