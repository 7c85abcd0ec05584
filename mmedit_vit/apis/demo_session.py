"""One structure for the demos (segmentation, detection, classification): numbered phases, one summary.

A demo is a few phases (write the data, evaluate the untrained model, train, evaluate, ...). Each phase is
one line on the terminal with a progress bar (training shows the loss and the time left); everything else
(mmengine's logs and config dumps, third-party warnings) goes to ``<work_dir>/demo.log``. The run ends with
one table of metrics and where the files are, also written to ``<work_dir>/summary.json``.
``verbose=True`` leaves the output as mmengine prints it.
"""
import contextlib
import copy
import json
import os
import os.path as osp
import sys
import time
from typing import Callable, Dict, Iterator, Mapping, Optional, Sequence

from mmengine.config import Config
from mmengine.runner import Runner
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ..engine.hooks.progress_hook import ProgressHook
from ..engine.latest_checkpoint import latest_checkpoint
from ..utils.quiet_output import quiet_output
from .data_check import check_data_roots
from .run_config import build_runner, check_pretrained_files

LOG_NAME = 'demo.log'
SUMMARY_NAME = 'summary.json'


def _plain(value):
    """A metric as json can hold it (metrics come as numpy or torch scalars)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def _shown_path(path: str) -> str:
    """``path`` relative to the current folder when it lies inside it (shorter lines), else as given."""
    relative = osp.relpath(path)
    return path if relative.startswith('..') else relative


class Phase:
    """Handle of the running phase: move its bar and set the text after it."""

    def __init__(self, progress: Progress, task) -> None:
        self.progress = progress
        self.task = task

    def advance(self, steps: float = 1) -> None:
        self.progress.advance(self.task, steps)

    def info(self, text: str) -> None:
        self.progress.update(self.task, info=text)


class DemoSession:
    """Context manager around a demo run; see the module docstring.

    Args:
        title: first line of the summary, e.g. 'Segmenter-T (EDIT) on generated ADE20K-format data'.
        work_dir: where the demo writes; the log and the summary go there.
        num_phases: how many phases the demo has (shown as ``[i/n]``).
        verbose: print everything mmengine prints instead of the progress lines.
    """

    def __init__(self, title: str, work_dir: str, num_phases: int, verbose: bool = False) -> None:
        if num_phases < 1:
            raise ValueError(f'num_phases={num_phases}: a demo has at least one phase')
        self.title = title
        self.work_dir = work_dir
        self.num_phases = num_phases
        self.verbose = verbose
        self.log_file = osp.join(work_dir, LOG_NAME)
        self.console: Optional[Console] = None
        self._stack = contextlib.ExitStack()
        self._done = 0
        self._start = 0.0

    def __enter__(self) -> 'DemoSession':
        os.makedirs(self.work_dir, exist_ok=True)
        self._start = time.time()
        if self.verbose:
            self.console = Console(file=sys.stdout)
            print(self.title, flush=True)
        else:
            terminal = self._stack.enter_context(quiet_output(self.log_file))
            width = None if terminal.isatty() else 120  # files and pipes: one line per phase, not wrapped at 80
            self.console = Console(file=terminal, width=width)
            self.console.print(f'{self.title}\nfull log: {_shown_path(self.log_file)}', highlight=False, markup=False)
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()

    @property
    def seconds(self) -> float:
        return time.time() - self._start

    @contextlib.contextmanager
    def phase(self, name: str, total: Optional[float] = 1) -> Iterator[Phase]:
        """One line with a progress bar while the body runs; a bar of ``total`` steps (1: done or not)."""
        if self._done >= self.num_phases:
            raise RuntimeError(f'phase {name!r} is one more than the {self.num_phases} phases announced')
        self._done += 1
        step = f'[{self._done}/{self.num_phases}]'
        progress = Progress(
            TextColumn('{task.fields[step]} {task.description:<26}'), BarColumn(bar_width=20),
            MofNCompleteColumn(), TimeElapsedColumn(), TextColumn('eta'), TimeRemainingColumn(),
            TextColumn('{task.fields[info]}'), console=self.console, disable=self.verbose,
            # what the run prints must reach the log file, not be drawn above the bar
            redirect_stdout=False, redirect_stderr=False)
        if self.verbose:
            print(f'\n{step} {name}', flush=True)
        task = progress.add_task(name, total=total, step=step, info='')
        with progress:
            yield Phase(progress, task)
            if progress.tasks[0].total is not None:
                progress.update(task, completed=progress.tasks[0].total)

    def _runner(self, cfg: Config, phase: Phase, name: str) -> Runner:
        cfg = copy.deepcopy(cfg)
        # several runners in one process: distinct loggers and visualizers (each writes into its own work dir)
        cfg.experiment_name = name
        if cfg.get('visualizer') is not None:
            cfg.visualizer.name = f'visualizer_{name}'
        runner = build_runner(cfg)  # as the tools: strict loading, atomic checkpoints
        runner.register_hook(ProgressHook(phase.progress, phase.task))
        return runner

    def train(self, cfg: Config, name: str = 'train') -> str:
        """Trains ``cfg`` as tools/train.py does (same checks) and returns the last checkpoint's path."""
        check_data_roots(cfg, ['train_dataloader', 'val_dataloader'])
        check_pretrained_files(cfg)
        with self.phase(name, total=None) as phase:
            self._runner(cfg, phase, name).train()
        return latest_checkpoint(cfg.work_dir)

    def evaluate(self, name: str, cfg: Config, checkpoint: Optional[str],
                 shown: Callable[[dict], str] = lambda metrics: '') -> Dict[str, float]:
        """Tests ``checkpoint`` (None: the model as training starts it) and returns the metrics.

        ``cfg`` is used as given (apply --tta or perturbations first); it is tested in
        ``<cfg.work_dir>/test_<name>``. ``shown`` turns the metrics into the text after the bar.
        """
        check_data_roots(cfg, ['test_dataloader'])
        cfg = copy.deepcopy(cfg)
        cfg.work_dir = osp.join(cfg.work_dir, 'test_' + name.replace(' ', '_').replace('-', '_'))
        cfg.load_from = checkpoint
        with self.phase(f'evaluate {name}', total=None) as phase:
            runner = self._runner(cfg, phase, 'test_' + name.replace(' ', '_'))
            if checkpoint is None:
                runner.model.init_weights()
            metrics = runner.test()
            phase.info(shown(metrics))
        return metrics

    def evaluate_corruptions(self, name: str, cfg: Config, checkpoint: str, corruptions: Sequence[str],
                             severities: Sequence[int], shown: Callable[[dict], str] = lambda metrics: '') -> dict:
        """Tests ``checkpoint`` clean and under each corruption and severity (``tools/test.py --corruptions``)
        in ``<cfg.work_dir>/test_<name>``; returns the ``corruptions.json`` report."""
        from .corruption_eval import prepare_config, run_corruptions
        check_data_roots(cfg, ['test_dataloader'])
        cfg = prepare_config(copy.deepcopy(cfg))
        cfg.work_dir = osp.join(cfg.work_dir, 'test_' + name.replace(' ', '_').replace('-', '_'))
        cfg.load_from = checkpoint
        with self.phase(f'evaluate {name}', total=None) as phase:
            runner = self._runner(cfg, phase, 'test_' + name.replace(' ', '_'))
            report = run_corruptions(runner, cfg, corruptions, severities, checkpoint=checkpoint)
            phase.info(shown(report))
        return report

    def summary(self, heading: str, columns: Mapping[str, str], rows: Mapping[str, Mapping[str, float]],
                files: Mapping[str, str], digits: int = 2) -> None:
        """Prints the result table (``columns``: metric key -> header) and the files; saves both as json."""
        for name, metrics in rows.items():
            missing = [key for key in columns if key not in metrics]
            if missing:
                raise KeyError(f'row {name!r} has no metric {missing}; it has {sorted(metrics)}')
        files = dict(files, **({} if self.verbose else {'full log': self.log_file}))
        files['summary'] = osp.join(self.work_dir, SUMMARY_NAME)
        width = max(len(name) for name in rows)
        lines = ['', f'{heading} ({self.seconds / 60:.1f} min)',
                 f'{"":<{width}}' + ''.join(f' {header:>{max(8, len(header))}}' for header in columns.values())]
        for name, metrics in rows.items():
            lines.append(f'{name:<{width}}' + ''.join(
                f' {metrics[key]:>{max(8, len(header))}.{digits}f}' for key, header in columns.items()))
        lines.append('')
        lines += [f'{label:<12} {_shown_path(path)}' for label, path in files.items()]
        text = '\n'.join(lines)
        if self.console is not None and not self.verbose:
            self.console.print(text, highlight=False, markup=False)
        else:
            print(text, flush=True)
        with open(osp.join(self.work_dir, SUMMARY_NAME), 'w') as f:
            json.dump(dict(title=self.title, heading=heading, minutes=round(self.seconds / 60, 2),
                           rows={name: {k: _plain(v) for k, v in metrics.items()} for name, metrics in rows.items()},
                           files=files), f, indent=1)
