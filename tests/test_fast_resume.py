"""--fast-resume: the sampler jumps past the trained batches; the resumed run equals the uninterrupted one."""
import os.path as osp
import runpy
import sys

import pytest
from toy_runner import ToyNoiseDataset, toy_config, toy_runner

from conftest import ROOT
from mmedit_vit.apis import enable_fast_resume
from mmedit_vit.apis.run_config import build_runner


@pytest.fixture
def reads(monkeypatch):
    """Counts the samples the toy dataset loads."""
    count = {'n': 0}
    original = ToyNoiseDataset.__getitem__

    def counted(self, i):
        count['n'] += 1
        return original(self, i)

    monkeypatch.setattr(ToyNoiseDataset, '__getitem__', counted)
    return count


def fast_resumed(work_dir: str, max_iters: int):
    cfg = enable_fast_resume(toy_config(work_dir, max_iters=max_iters, interval=4))
    cfg.resume = True
    return build_runner(cfg)


def test_fast_resume_repeats_the_run_and_reads_only_new_batches(tmp_path, reads):
    straight = toy_runner(str(tmp_path / 'a'), max_iters=8, interval=4)
    straight.train()
    toy_runner(str(tmp_path / 'b'), max_iters=4, interval=4).train()
    reads['n'] = 0
    resumed = fast_resumed(str(tmp_path / 'b'), max_iters=8)
    resumed.train()
    assert type(resumed.train_loop).__name__ == 'FastResumeIterBasedTrainLoop'
    assert resumed.model.losses == straight.model.losses[4:]  # same indices, same main-process random states
    assert reads['n'] == 4 * 4  # iterations 5-8, batch 4: nothing of iterations 1-4 is loaded again
    replayed = toy_runner(str(tmp_path / 'b'), max_iters=12, interval=4, resume=True)  # mmengine's own resume
    reads['n'] = 0
    replayed.train()
    assert reads['n'] == 12 * 4  # it loads the 8 trained batches again, then 4 new ones


def test_fast_resume_with_loader_workers(tmp_path):
    """Workers are started afresh on the cut index stream; training goes on to the end."""
    cfg = toy_config(str(tmp_path), max_iters=4, interval=4)
    cfg.train_dataloader.update(num_workers=2, persistent_workers=True)
    build_runner(cfg).train()
    cfg = enable_fast_resume(toy_config(str(tmp_path), max_iters=8, interval=4))
    cfg.train_dataloader.update(num_workers=2, persistent_workers=True)
    cfg.resume = True
    runner = build_runner(cfg)
    runner.train()
    assert runner.iter == 8 and len(runner.model.losses) == 4


def test_fast_resume_needs_an_iteration_based_loop():
    cfg = toy_config('unused')
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2)
    with pytest.raises(ValueError, match='--fast-resume is for iteration-based training'):
        enable_fast_resume(cfg)
    cfg.train_cfg = dict(by_epoch=False, max_iters=3)  # mmengine's shorthand for IterBasedTrainLoop
    assert enable_fast_resume(cfg).train_cfg == dict(type='FastResumeIterBasedTrainLoop', max_iters=3)


def test_fast_resume_needs_an_infinite_sampler(tmp_path):
    toy_runner(str(tmp_path), max_iters=4, interval=4).train()
    cfg = enable_fast_resume(toy_config(str(tmp_path), max_iters=8, interval=4))
    cfg.train_dataloader.sampler = dict(type='DefaultSampler', shuffle=True)
    cfg.resume = True
    with pytest.raises(ValueError, match='fast resume needs train_dataloader.sampler=InfiniteSampler'):
        build_runner(cfg).train()


def test_train_tool_fast_resume_goes_with_resume(monkeypatch):
    train = runpy.run_path(osp.join(ROOT, 'tools', 'train.py'))
    monkeypatch.setattr(sys, 'argv', ['train.py', osp.join(ROOT, 'configs', 'demo', 'cls_edit_t_synthetic.py'),
                                      '--fast-resume'])
    with pytest.raises(SystemExit, match='--fast-resume goes with --resume'):
        train['main']()


def test_resume_without_a_checkpoint_starts_from_the_beginning(tmp_path):
    """--resume alone: the latest checkpoint of the work_dir, or a fresh start (load_from kept) before the first."""
    from mmedit_vit.apis import resume_latest
    cfg = toy_config(str(tmp_path / 'new'))
    cfg.load_from = 'pretrained.pth'
    cfg = resume_latest(cfg)
    assert cfg.resume is False and cfg.load_from == 'pretrained.pth'
    toy_runner(str(tmp_path / 'old'), max_iters=4, interval=4).train()
    cfg = resume_latest(toy_config(str(tmp_path / 'old'), max_iters=8, interval=4))
    assert cfg.resume is True and cfg.load_from == str(tmp_path / 'old' / 'iter_4.pth')
    runner = build_runner(cfg)
    runner.train()
    assert len(runner.model.losses) == 4  # iterations 5-8 only
