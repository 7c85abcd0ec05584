"""Logged training scalars read back once per logging interval: no host-device sync in between, same logs.

mmengine's ``RuntimeInfoHook`` and ``OptimWrapper`` turn each loss term and the clipped gradient norm into a
Python number every iteration; ``DeferredRuntimeInfoHook`` and ``DeferredLogOptimWrapper`` queue them on the
device and log them at the iterations that log, save or end an epoch.
"""
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from toy_runner import toy_config

from mmedit_vit.analysis.op_count import OpCounter
from mmedit_vit.apis.run_config import build_runner, defer_scalar_reads, load_run_config
from mmedit_vit.datasets import make_synthetic_ade20k
from mmedit_vit.engine import TrainingDivergedError
from mmedit_vit.engine.scalar_readback import ScalarQueue
from seg_helpers import DEMO_CONFIG

pytestmark = pytest.mark.usefixtures('one_thread')


class IterationSyncs(Hook):
    """Counts the syncs of each training iteration: the step and every hook after it (runs last)."""

    priority = 'LOWEST'

    def __init__(self) -> None:
        self.per_iteration, self._counter = [], None

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        self._counter = OpCounter().__enter__()

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._counter.__exit__(None, None, None)
        self.per_iteration.append(self._counter.sync_calls)


@pytest.fixture(scope='module')
def ade_root(tmp_path_factory):
    return make_synthetic_ade20k(str(tmp_path_factory.mktemp('ade')), num_train=8, num_val=2, size=(64, 64))


def test_a_segmenter_iteration_waits_for_the_device_only_when_it_logs(ade_root, tmp_path, monkeypatch):
    """The demo Segmenter with gradient clipping, logging every 3 iterations, 8 samples in batches of 2."""
    options = {f'{split}.dataset.data_root': ade_root for split in ('train_dataloader', 'val_dataloader')}
    options.update({'train_cfg.max_iters': 7, 'train_cfg.val_interval': 100, 'default_hooks.logger.interval': 3,
                    'default_hooks.checkpoint.interval': 100, 'default_hooks.checkpoint.save_last': False,
                    'train_dataloader.batch_size': 2, 'train_dataloader.num_workers': 0,
                    'train_dataloader.persistent_workers': False,
                    'optim_wrapper.clip_grad': dict(max_norm=1.0)})
    cfg = load_run_config(DEMO_CONFIG, str(tmp_path), options)
    assert cfg.default_hooks.runtime_info.type == 'DeferredRuntimeInfoHook'
    assert cfg.optim_wrapper.type == 'DeferredLogOptimWrapper'
    flushed_at, flush = [], ScalarQueue.flush
    runner = build_runner(cfg)
    monkeypatch.setattr(ScalarQueue, 'flush', lambda self, hub: (flushed_at.append(runner.iter), flush(self, hub)))
    syncs = IterationSyncs()
    runner.register_hook(syncs)
    runner.train()
    assert syncs.per_iteration == [[]] * 7
    # logging (iterations 3, 6), the loader's end of epoch (4), the last iteration (7); 0-based below
    assert flushed_at == [2, 3, 5, 6, 7]  # 7: the hook's after_train, with nothing left queued
    hub = runner.message_hub
    for key in ('train/loss', 'train/decode.loss_ce', 'train/grad_norm'):
        values = hub.get_scalar(key).data[0]
        assert len(values) == 7 and np.isfinite(values).all(), key


def toy(work_dir: str, deferred: bool, clip: bool = True, **kwargs) -> Config:
    cfg = toy_config(work_dir, **kwargs)
    cfg.default_hooks.logger.interval = 3
    if clip:
        cfg.optim_wrapper.clip_grad = dict(max_norm=0.05)
    if deferred:
        defer_scalar_reads(cfg)
    cfg.experiment_name = f'{work_dir}-{deferred}'  # each run its own message hub (names default to the second)
    return cfg


def test_the_message_hub_receives_the_same_values_in_the_same_order(tmp_path):
    hubs = []
    for deferred in (False, True):
        runner = build_runner(toy(str(tmp_path / str(deferred)), deferred, max_iters=10, interval=100))
        runner.train()
        hubs.append({k: v.data for k, v in runner.message_hub.log_scalars.items()
                     if k.startswith('train/') and k not in ('train/time', 'train/data_time')})  # timings differ
    plain, deferred = hubs
    assert plain.keys() == deferred.keys() >= {'train/loss', 'train/grad_norm', 'train/lr'}
    for key in plain:
        for a, b in zip(plain[key], deferred[key]):
            np.testing.assert_array_equal(a, b, err_msg=key)
    assert len(plain['train/grad_norm'][0]) == 10 and plain['train/grad_norm'][0].min() > 0.05  # it clipped


def test_a_non_finite_loss_is_named_at_its_own_iteration_and_stops_before_the_log_and_save(tmp_path):
    """NaN from iteration 5; the next readback is iteration 6 (logging) and it stops there, saving nothing."""
    runner = build_runner(toy(str(tmp_path), True, max_iters=12, interval=6, nan_at=5))
    with pytest.raises(TrainingDivergedError, match='iteration 5 .*loss=nan') as info:
        runner.train()
    assert runner.iter == 5 and 'stopped without saving' in str(info.value)
    assert not list(tmp_path.glob('*.pth'))


def test_a_queue_holds_one_element_scalars_only():
    with pytest.raises(ValueError, match=r'train/x: a logged scalar must have one element, not shape \(2,\)'):
        ScalarQueue().push('train/x', torch.ones(2))


def test_mmengine_classes_are_swapped_and_others_kept():
    cfg = Config(dict(optim_wrapper=dict(type='mmengine.AmpOptimWrapper', optimizer=dict(type='SGD', lr=0.1))))
    defer_scalar_reads(cfg)
    assert cfg.optim_wrapper.type == 'DeferredLogAmpOptimWrapper'
    assert cfg.default_hooks.runtime_info == dict(type='DeferredRuntimeInfoHook')
    custom = Config(dict(optim_wrapper=dict(type='MyWrapper', optimizer=dict(type='SGD', lr=0.1)),
                         default_hooks=dict(runtime_info=dict(type='MyRuntimeInfoHook'))))
    defer_scalar_reads(custom)
    assert custom.optim_wrapper.type == 'MyWrapper' and custom.default_hooks.runtime_info.type == 'MyRuntimeInfoHook'
    no_type = Config(dict(optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1))))
    defer_scalar_reads(no_type)
    assert no_type.optim_wrapper.type == 'DeferredLogOptimWrapper'
