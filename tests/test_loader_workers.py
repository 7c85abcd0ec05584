"""A finished run stops its data-loader workers at once (``mmedit_vit/engine/loader_workers.py``).

mmengine's runner is freed by the cyclic garbage collector, which finalizes the loader's queues before the
iterator's ``__del__`` asks the workers to stop: each worker is then killed after torch's join timeout (5 s;
1 s here, so that the control run shows it cheaply).
"""
import gc
import multiprocessing
import time

import pytest
from mmengine.runner import Runner
from torch.utils.data import _utils as loader_utils
from toy_runner import toy_config

from mmedit_vit.apis.run_config import build_runner
from mmedit_vit.engine.loader_workers import release_loader_workers

JOIN_TIMEOUT = 1.0


def config_with_workers(work_dir: str):
    cfg = toy_config(work_dir, max_iters=2, interval=2)
    cfg.train_dataloader.update(num_workers=2, persistent_workers=True)
    return cfg


def workers_alive(settle: float = 0.0) -> list:
    """The live child processes (after up to ``settle`` seconds for killed ones to be reaped)."""
    end = time.perf_counter() + settle
    while True:
        alive = [p for p in multiprocessing.active_children() if p.is_alive()]
        if not alive or time.perf_counter() >= end:
            return alive
        time.sleep(0.05)


def collect_seconds() -> float:
    start = time.perf_counter()
    gc.collect()
    return time.perf_counter() - start


@pytest.fixture
def short_join_timeout(monkeypatch):
    monkeypatch.setattr(loader_utils, 'MP_STATUS_CHECK_INTERVAL', JOIN_TIMEOUT)
    gc.collect()
    assert not workers_alive()


def test_a_finished_run_has_no_loader_workers_left(tmp_path, short_join_timeout):
    runner = build_runner(config_with_workers(str(tmp_path / 'safe')))
    runner.train()
    assert runner.train_loop.dataloader._iterator is None and not workers_alive()  # nothing left for gc
    assert release_loader_workers(runner) == 0  # nothing left to stop


def test_control_mmengine_runner_waits_for_the_join_timeout_per_worker(tmp_path, short_join_timeout):
    runner = Runner.from_cfg(config_with_workers(str(tmp_path / 'plain')))
    runner.train()
    assert len(workers_alive()) == 2
    del runner
    assert collect_seconds() >= 2 * JOIN_TIMEOUT  # each worker killed after the timeout
    assert not workers_alive(settle=2.0)


def test_release_stops_a_persistent_loader_and_a_later_run_starts_new_workers(tmp_path, short_join_timeout):
    runner = Runner.from_cfg(config_with_workers(str(tmp_path / 'later')))
    runner.train()
    assert release_loader_workers(runner) == 1 and not workers_alive()
    batch = next(iter(runner.train_loop.dataloader))  # new workers for a new iteration
    assert batch['inputs'].shape == (4, 8) and len(workers_alive()) == 2
    assert release_loader_workers(runner) == 1 and not workers_alive()
