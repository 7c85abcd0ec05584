import gc
import json
import os
import sys
from types import SimpleNamespace

import pytest
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from xdist_groups import pytest_collection_modifyitems  # noqa: E402,F401  (the split between xdist workers)

import mmedit_vit  # noqa: E402,F401  (registers the backbones)


def pytest_configure(config):
    """Under pytest-xdist each worker takes its share of the cores: N workers x all cores would oversubscribe."""
    workers = int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '1'))
    if workers > 1:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))


def pytest_collection_finish(session):
    """What imports and collection made lives all session: kept out of the garbage collector's full passes.
    mmengine runs one (``gc.collect()``) for every dataset it builds, a third of a second each over this heap."""
    gc.freeze()


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(scope='module')
def one_thread():
    """Runs a module on one thread: the many small ops of tiny models run several times faster so on busy cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='session')
def detection_demo(tmp_path_factory) -> SimpleNamespace:
    """The detection demo as shipped (``tools/demo_detection.py``, its data written to a temporary folder), run once
    per test session: its own test reads the output, and the tests that need a trained detector its checkpoint.

    Fields: ``proc`` (the run's output), ``summary``, ``log``, ``checkpoint``, ``data`` (the data root, ending in /).
    """
    from tool_runner import run_tool
    tmp = tmp_path_factory.mktemp('det_demo')
    data, work = tmp / 'synthetic_coco', tmp / 'work'
    ann = data / 'annotations' / 'instances_val2017.json'
    options = [f'{split}_dataloader.dataset.data_root={data}/' for split in ('train', 'val', 'test')]
    options += [f'val_evaluator.ann_file={ann}', f'test_evaluator.ann_file={ann}']
    proc = run_tool(['tools/demo_detection.py', '--work-dir', str(work), '--cfg-options', *options], timeout=3600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads((work / 'summary.json').read_text())
    return SimpleNamespace(proc=proc, summary=summary, log=(work / 'demo.log').read_text(),
                           checkpoint=summary['files']['checkpoint'], data=f'{data}/')


def slow_except(values, keep) -> list:
    """The cases of an all-configs loop: those in ``keep`` stay in the fast tier, the rest are marked slow."""
    keep = list(keep)
    return [pytest.param(v, marks=() if v in keep else pytest.mark.slow) for v in values]


def perturb_(module: torch.nn.Module, scale: float = 0.1, weights: bool = False) -> torch.nn.Module:
    """Adds noise to biases, LayerScale, norms and tokens (and matrices with ``weights``) so that none
    of them is at its trivial init."""
    with torch.no_grad():
        for name, param in module.named_parameters():
            if weights or param.ndim <= 1 or 'token' in name or 'pos_embed' in name:
                param.add_(torch.randn_like(param) * scale)
    return module


def rel_close(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).abs().max() / b.abs().max()).item()
