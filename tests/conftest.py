import os
import sys

import pytest
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import mmedit_vit  # noqa: E402,F401  (registers the backbones)


def pytest_configure(config):
    """Under pytest-xdist each worker takes its share of the cores: N workers x all cores would oversubscribe."""
    workers = int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '1'))
    if workers > 1:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))


def pytest_collection_modifyitems(config, items):
    """The end-to-end (slow) tests first, so that the long ones start early and short ones fill the end of a
    parallel run; under pytest-xdist (``--dist loadgroup``), the tests of a module that share one of its
    module-scoped fixtures (a training, generated data) run on one worker, which builds the fixture once."""
    items.sort(key=lambda item: item.get_closest_marker('slow') is None)  # stable: file order otherwise
    for item in items:
        shared = [defs[-1] for defs in getattr(item, '_fixtureinfo').name2fixturedefs.values()
                  if defs and defs[-1].scope in ('module', 'package', 'session') and defs[-1].baseid]
        if shared:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split('::')[0]))


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
def det_demo_checkpoint(tmp_path_factory):
    """(checkpoint, data root): the detection demo config trained briefly on generated COCO-format data, shared
    by the slow tests that need a detector with a box AP above zero (one training per test session)."""
    from mmedit_vit.datasets import make_synthetic_coco
    from tool_runner import run_tool
    tmp = tmp_path_factory.mktemp('det_demo')
    data = make_synthetic_coco(str(tmp / 'coco'), num_train=16, num_val=8) + '/'
    config = os.path.join(ROOT, 'configs', 'demo', 'maskrcnn_edit_t_synthetic_coco.py')
    work = str(tmp / 'train')
    options = [f'{split}.dataset.data_root={data}'
               for split in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    options += [f'val_evaluator.ann_file={data}annotations/instances_val2017.json',
                f'test_evaluator.ann_file={data}annotations/instances_val2017.json',
                f'train_cfg.max_epochs={DET_DEMO_EPOCHS}', f'train_cfg.val_interval={DET_DEMO_EPOCHS}',
                f'default_hooks.checkpoint.interval={DET_DEMO_EPOCHS}']
    proc = run_tool(['tools/train.py', config, '--work-dir', work, '--cfg-options', *options])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return os.path.join(work, f'epoch_{DET_DEMO_EPOCHS}.pth'), data


DET_DEMO_EPOCHS = 4


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
