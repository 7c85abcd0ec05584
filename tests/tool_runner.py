"""Runs a tool of this project as ``python tools/X.py ARGS`` does, in the test process or in a new one.

A new interpreter pays the torch + mmseg + mmdet imports again (seconds per run on a small machine). In the
test process the tool's script is executed as ``__main__`` (``runpy``) with its own ``sys.argv``, the
environment the test asks for, one torch thread (as ``OMP_NUM_THREADS=1`` gives a new process), torch's
fresh-process seed, and file descriptors 1 and 2 redirected to files, so that everything it, mmengine's
logger, pycocotools and loader workers print is captured as a subprocess's output would be. The mmengine global
instances (scope, message hub, loggers, visualizers) of the test process are hidden during the run, as a new
process has none. Afterwards the process is put back: argv, path, environment, working directory, threads,
random states, warning filters, and the instances the run made are dropped.

Tests whose subject is the process boundary (exit by signal, ``torchrun``, what a fresh interpreter prints
while importing) use ``subprocess=True``.
"""
import contextlib
import io
import os
import os.path as osp
import random
import runpy
import subprocess as sp
import sys
import tempfile
import traceback
import warnings
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np
import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
FRESH_PROCESS_SEED = 67280421310721  # torch's default seed in a new interpreter


def run_tool(args: List[str], cwd: str = ROOT, env: Optional[dict] = None, timeout: int = 600,
             subprocess: bool = False) -> sp.CompletedProcess:
    """Runs ``python <args>`` as a user would and returns the finished process (output captured).

    ``subprocess=True``, or ``args`` that do not start with a script (``-m torch.distributed.run ...``), start a
    new interpreter (``timeout`` applies there only)."""
    if subprocess or not args[0].endswith('.py'):
        full_env = {**os.environ, 'OMP_NUM_THREADS': '1', **(env or {})}  # small models: one thread is fastest
        return sp.run([sys.executable] + args, cwd=cwd, env=full_env, capture_output=True, text=True,
                      timeout=timeout)
    with _restored_process(cwd, {'OMP_NUM_THREADS': '1', **(env or {})}), _captured_fds() as read:
        code = _run_script(osp.join(cwd, args[0]), args[1:])
    stdout, stderr = read()
    return sp.CompletedProcess([sys.executable] + args, code, stdout, stderr)


def _run_script(script: str, argv: List[str]) -> int:
    """Executes ``script`` as ``__main__``; returns the exit status the interpreter would have."""
    sys.argv = [script] + list(argv)
    sys.path.insert(0, osp.dirname(osp.abspath(script)))
    try:
        runpy.run_path(script, run_name='__main__')
    except SystemExit as end:
        if end.code is None or isinstance(end.code, int):
            return end.code or 0
        print(end.code, file=sys.stderr)
        return 1
    except BaseException:  # noqa: BLE001  (an uncaught exception: the traceback, status 1)
        traceback.print_exc()
        return 1
    return 0


@contextlib.contextmanager
def _captured_fds() -> Iterator:
    """File descriptors 1 and 2, and ``sys.stdout`` / ``sys.stderr`` on them, go to two temporary files."""
    files = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    sys.stdout.flush()
    sys.stderr.flush()
    saved_fds = os.dup(1), os.dup(2)
    saved_streams = sys.stdout, sys.stderr
    for fd, f in zip((1, 2), files):
        os.dup2(f.fileno(), fd)
    # streams on fds 1 and 2, left open: loggers created by the run keep them (they are never written again)
    sys.stdout = io.TextIOWrapper(open(os.dup(1), 'wb', closefd=True), line_buffering=True, errors='replace')
    sys.stderr = io.TextIOWrapper(open(os.dup(2), 'wb', closefd=True), line_buffering=True, errors='replace')

    def read() -> Tuple[str, str]:
        texts = []
        for f in files:
            f.seek(0)
            texts.append(f.read().decode(errors='replace'))
            f.close()
        return texts[0], texts[1]

    try:
        yield read
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout, sys.stderr = saved_streams
        for fd, saved in zip((1, 2), saved_fds):
            os.dup2(saved, fd)
            os.close(saved)


def _manager_classes() -> list:
    from mmengine.utils import ManagerMixin
    found, todo = [], [ManagerMixin]
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        if '_instance_dict' in vars(cls):
            found.append(cls)
    return found


def _fresh_warning_filters() -> None:
    """A new interpreter's warning filters and printing to ``sys.stderr`` (pytest records warnings instead);
    this project's own warnings are errors, as in the rest of the test run."""
    warnings.resetwarnings()
    for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
        warnings.simplefilter('ignore', category)
    warnings.filterwarnings('default', category=DeprecationWarning, module='__main__')
    for option in sys.warnoptions:
        warnings._setoption(option)
    warnings.filterwarnings('error', module=r'mmedit_vit(\.|$)')
    warnings.showwarning = warnings._showwarning_orig
    warnings._showwarnmsg_impl = lambda msg: sys.stderr.write(warnings._formatwarnmsg_impl(msg))


@contextlib.contextmanager
def _restored_process(cwd: str, env: Dict[str, str]) -> Iterator[None]:
    argv, path, environ, here = list(sys.argv), list(sys.path), dict(os.environ), os.getcwd()
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    states = torch.get_rng_state(), np.random.get_state(), random.getstate()
    instances = {cls: dict(cls._instance_dict) for cls in _manager_classes()}
    for cls in instances:  # a new process has none: a run builds its own visualizer, logger, message hub
        cls._instance_dict.clear()
    os.environ.update(env)
    os.chdir(cwd)
    torch.set_num_threads(int(env.get('OMP_NUM_THREADS', threads)))
    torch.manual_seed(FRESH_PROCESS_SEED)
    try:
        with warnings.catch_warnings():
            _fresh_warning_filters()
            yield
    finally:
        sys.argv[:], sys.path[:] = argv, path
        os.environ.clear()
        os.environ.update(environ)
        os.chdir(here)
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)
        torch.set_rng_state(states[0])
        np.random.set_state(states[1])
        random.setstate(states[2])
        for cls in _manager_classes():
            for instance in cls._instance_dict.values():
                for handler in getattr(instance, 'handlers', []):
                    handler.close()
            cls._instance_dict.clear()
            cls._instance_dict.update(instances.get(cls, {}))
