"""How runs become commands (launcher, GPUs, work dirs), which of them are done, and running them in order."""
import glob
import json
import os
import os.path as osp
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence, Tuple

from ..apis.corruption_eval import RESULT_NAME as CORRUPTIONS_FILE
from ..apis.run_config import LAUNCHERS as RUN_LAUNCHERS
from .iteration_scaling import epoch_scaling_options, iteration_scaling_options, split_batch_option
from .runs import PAPER_GPUS, ROOT, Run, Table

LAUNCHERS = tuple(name for name in RUN_LAUNCHERS if name != 'mpi')  # the launch scripts written here


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
        gpus = self.gpus
        if not (isinstance(gpus, int) and gpus >= 1 and max(gpus, PAPER_GPUS) % min(gpus, PAPER_GPUS) == 0):
            raise ValueError(f'gpus={self.gpus!r}: use 1, 2, 4, 8 or a multiple of 8')
        if self.launcher == 'none' and self.gpus != 1:
            raise ValueError(f'--launcher none runs one process; got --gpus {self.gpus} (use pytorch or slurm)')

    def check(self, table: Table) -> None:
        """Builds every command of ``table`` once, so that a config this plan cannot run (a batch that does not
        split, a scheduler that does not stretch) stops the reproduction before its first run."""
        for run in table.runs:
            try:
                self.command(run)
            except ValueError as err:
                raise ValueError(f'{run.config}: {err}') from None

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
        """The checkpoint the training run ends with (of the stretched schedule on fewer GPUs)."""
        cfg = self.config(train).get('train_cfg', {})
        if cfg.get('max_iters'):
            name = f"iter_{cfg['max_iters'] * self.iteration_factor(train)}.pth"
        elif cfg.get('max_epochs'):
            name = f"epoch_{cfg['max_epochs']}.pth"
        else:
            raise ValueError(f'{train.config}: train_cfg has neither max_iters nor max_epochs')
        return osp.join(self.work_dir(train), name)

    def batch_factor(self) -> int:
        """How many times more GPUs the papers' batch was spread over (1: nothing to keep)."""
        if not self.scale_batch or self.gpus >= PAPER_GPUS or self.auto_scale_lr:
            return 1
        return PAPER_GPUS // self.gpus

    def spread_factor(self) -> int:
        """How many times more GPUs than the papers' 8 share their batch (1: nothing to split)."""
        if not self.scale_batch or self.gpus <= PAPER_GPUS or self.auto_scale_lr:
            return 1
        return self.gpus // PAPER_GPUS

    def iteration_factor(self, train: Run) -> int:
        """How many times more iterations the training run makes than its config (1: as the config)."""
        iteration_based = bool(self.config(train).get('train_cfg', {}).get('max_iters'))
        return self.batch_factor() if iteration_based else 1

    def batch_options(self, train: Run) -> List[str]:
        """Keeps the papers' total batch on fewer GPUs with the config's per-GPU batch (the size that fits a
        GPU): gradients accumulated and every iteration count stretched to give each optimizer step the original
        lr: iteration-based configs (segmentation, ViTDet) make that many times more iterations; epoch-based ones
        (classification, Mask R-CNN) keep their epochs and stretch their iteration-counted warm-ups."""
        if self.spread_factor() > 1:
            return [split_batch_option(self.config(train), self.spread_factor())]
        factor = self.batch_factor()
        if factor == 1:
            return []
        cfg = self.config(train)
        if cfg.get('train_cfg', {}).get('max_iters'):
            return iteration_scaling_options(cfg, factor)
        return epoch_scaling_options(cfg, factor)

    def batch_note(self, table: Table) -> str:
        """How the runs keep the papers' batch, for the head of a listing ('' when they run as configured)."""
        if self.auto_scale_lr:
            return 'per-GPU batch kept, lr scaled to the total batch (--auto-scale-lr)'
        if self.spread_factor() > 1:
            return f'total batch kept, per-GPU batch / {self.spread_factor()}'
        factor = self.batch_factor()
        if factor == 1:
            return ''
        note = f'per-GPU batch kept, gradients accumulated x{factor}'
        if any(r.kind == 'train' and self.iteration_factor(r) > 1 for r in table.runs):
            note += f', iterations x{factor} (iteration-based runs)'
        if any(r.kind == 'train' and self.iteration_factor(r) == 1 and _counts_iterations(self.config(r))
               for r in table.runs):
            note += f', iteration-counted warm-ups x{factor} (epoch-based runs)'
        return note

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
            if run.reference is not None:
                args += ['--ce-reference', self.work_dir(run.reference)]
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
        if run.corruptions:
            return osp.join(self.work_dir(run), CORRUPTIONS_FILE)
        found = metric_files(self.work_dir(run))
        return found[-1] if found else osp.join(self.work_dir(run), '<timestamp>', '<timestamp>.json')

    def done(self, run: Run) -> bool:
        if run.kind == 'test' and run.corruptions:
            return read_corruptions(osp.join(ROOT, self.output(run))) is not None
        if run.kind == 'test':
            return bool(metric_files(self.work_dir(run)))
        return osp.isfile(osp.join(ROOT, self.output(run)))  # join keeps an absolute output as it is


def _counts_iterations(cfg) -> bool:
    """Whether an epoch-based config has a scheduler counted in iterations (not converted from epochs)."""
    schedulers = cfg.get('param_scheduler') or []
    return any(not s.get('by_epoch', True) for s in ([schedulers] if isinstance(schedulers, dict) else schedulers))


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


def read_corruptions(path: str) -> Optional[dict]:
    """A finished ``corruptions.json`` (every evaluation done), else None."""
    if not osp.isfile(path):
        return None
    with open(path) as f:
        report = json.load(f)
    return report if report.get('complete') else None


def metric_files(test_work_dir: str) -> List[str]:
    """The metrics json files mmengine writes for each test (``<dir>/<timestamp>/<timestamp>.json``)."""
    path = test_work_dir if osp.isabs(test_work_dir) else osp.join(ROOT, test_work_dir)
    return sorted(p for p in glob.glob(osp.join(path, '*', '*.json')) if osp.basename(osp.dirname(p)) ==
                  osp.splitext(osp.basename(p))[0])


def format_command(argv: Sequence[str]) -> str:
    return ' '.join(shlex.quote(a) for a in argv)


def dry_run(table: Table, plan: Plan) -> List[str]:
    note = plan.batch_note(table)
    lines = [f'# {table.id}: {table.title}', f'# {len(table.runs)} runs, {plan.gpus} GPU(s), launcher '
             f'{plan.launcher}{"; " + note if note else ""}; [done] marks runs whose outputs exist']
    for run in table.runs:
        mark = '[done] ' if plan.done(run) else ''
        command = format_command(plan.command(run))
        if run.kind == 'complexity':
            command += f' > {plan.output(run)}'
        lines.append(f'{mark}{command}')
    return lines


def execute(table: Table, plan: Plan, log: Callable[[str], None] = print) -> None:
    """Runs the table's commands in order from the repository root, skipping finished runs."""
    note = plan.batch_note(table)
    if note:
        log(f'{table.id}, {plan.gpus} GPU(s): {note}')
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
