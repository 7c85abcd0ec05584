"""Exact resume on the shipped configs, which set no seed: one config per family (Segmenter, UperNet,
Mask R-CNN, classification), shrunk to CPU size (tiny backbone, small generated data, small crops),
trained to N; a run resumed from N/2 must give the uninterrupted run's losses from N/2 to N bit for bit.

Without the checkpoint's seed taken before the sampler is built, mmengine draws a fresh seed for the
resumed run and its sampler orders the samples differently (the first test shows it does here).
"""
import copy
import os
import os.path as osp
import shutil
from typing import List

import pytest
from mmengine.config import Config
from mmengine.hooks import Hook

from conftest import slow_except
from mmedit_vit.apis import enable_fast_resume, load_run_config
from mmedit_vit.apis.run_config import build_runner
from mmedit_vit.utils import load_checkpoint_file

pytestmark = pytest.mark.usefixtures('one_thread')

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = {
    'segmenter': 'configs/segmenter_edit_t_ade20k.py',
    'upernet': 'configs/upernet_gated_t_ade20k.py',
    'maskrcnn': 'configs/maskrcnn_edit_t_coco.py',
    'classification': 'configs/cls_edit_t_in1k.py',
}
ITERATION_BASED = ('segmenter', 'upernet')


class LossRecorder(Hook):
    """The total loss of every training iteration, exactly as computed."""

    def __init__(self) -> None:
        self.losses: List[float] = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self.losses.append(outputs['loss'].item())


def _shrunk(node, factor: int = 8):
    """Image scales and crop sizes of a pipeline divided by ``factor`` (the same augmentations, smaller)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ('scale', 'crop_size') and isinstance(value, (tuple, list)) and len(value) == 2:
                node[key] = tuple(max(int(v) // factor, 1) for v in value)
            elif key == 'scales':
                node[key] = [tuple(int(v) // factor for v in scale) for scale in value]
            else:
                _shrunk(value, factor)
    elif isinstance(node, list):
        for value in node:
            _shrunk(value, factor)
    return node


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    from mmedit_vit.datasets import make_synthetic_ade20k, make_synthetic_coco, make_synthetic_folder
    root = tmp_path_factory.mktemp('data')
    make_synthetic_folder(str(root / 'cls'), num_classes=4, train_per_class=2, val_per_class=1)
    return dict(ade=make_synthetic_ade20k(str(root / 'ade'), num_train=8, num_val=1, size=(64, 80)),
                coco=make_synthetic_coco(str(root / 'coco'), num_train=4, num_val=1),
                cls=str(root / 'cls'))


def shipped(family: str, data: dict, work_dir: str, num_workers: int = 0) -> Config:
    """The shipped config of ``family`` without its seed, at CPU size: 4 iterations (2 epochs of 2
    iterations for the epoch-based ones), a checkpoint half way, no validation, no pretrained file."""
    cfg = load_run_config(osp.join(ROOT, CONFIGS[family]), work_dir)
    cfg.pop('randomness', None)
    cfg.model.backbone.init_cfg = None
    for split in ('val', 'test'):
        cfg[f'{split}_dataloader'] = cfg[f'{split}_cfg'] = cfg[f'{split}_evaluator'] = None
    loader = cfg.train_dataloader
    loader.update(batch_size=2, num_workers=num_workers, persistent_workers=num_workers > 0)
    hooks = cfg.default_hooks
    hooks.logger.interval = 1
    if family in ITERATION_BASED:
        loader.dataset.data_root = data['ade']
        _shrunk(loader.dataset.pipeline)
        cfg.model.data_preprocessor.size = (64, 64)
        cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=4)
        hooks.checkpoint.update(by_epoch=False, interval=2)
    else:
        cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2)
        hooks.checkpoint.update(interval=1)
        if family == 'maskrcnn':
            loader.dataset.update(data_root=data['coco'], metainfo=dict(classes=('square', 'disk', 'triangle')))
            _shrunk(loader.dataset.pipeline, factor=4)
            cfg.model.roi_head.bbox_head.num_classes = cfg.model.roi_head.mask_head.num_classes = 3
            cfg.model.train_cfg.rpn_proposal.update(nms_pre=200, max_per_img=50)
            cfg.model.train_cfg.rcnn.sampler.num = 32
        else:
            loader.update(batch_size=4, drop_last=True)
            loader.dataset.update(data_root=data['cls'], classes=None)
            for step in loader.dataset.pipeline:
                if step['type'] == 'TimmTransform':
                    step['input_size'] = 32
            cfg.model.num_classes = 4
    return cfg


def train(cfg: Config, resume_from: str = None, fast: bool = False) -> List[float]:
    cfg = copy.deepcopy(cfg)
    if cfg.get('visualizer') is not None:  # several runners in one process: each its own visualizer
        cfg.visualizer.name = f'visualizer_{cfg.work_dir}'
    if resume_from is not None:
        cfg.resume, cfg.load_from = True, resume_from
        if fast:
            cfg = enable_fast_resume(cfg)
    runner = build_runner(cfg)
    recorder = LossRecorder()
    runner.register_hook(recorder)
    runner.train()
    return recorder.losses


def half_way(work_dir: str, family: str) -> str:
    return osp.join(work_dir, 'iter_2.pth' if family in ITERATION_BASED else 'epoch_1.pth')


@pytest.mark.parametrize('family', slow_except(CONFIGS, keep=['segmenter', 'classification']))
def test_resume_repeats_the_uninterrupted_run(tmp_path, data, family):
    straight_dir = str(tmp_path / 'straight')
    straight = train(shipped(family, data, straight_dir))
    assert len(straight) == 4
    checkpoint = half_way(straight_dir, family)
    meta = load_checkpoint_file(checkpoint)['meta']
    assert isinstance(meta['seed'], int) and meta['world_size'] == 1

    resumed_dir = str(tmp_path / 'resumed')
    resumed = train(shipped(family, data, resumed_dir), resume_from=checkpoint)
    assert resumed == straight[2:]  # bit for bit
    log = open(next(osp.join(r, f) for r, _, fs in os.walk(resumed_dir) for f in fs if f.endswith('.log'))).read()
    assert f'random seed: {meta["seed"]}, of the run being resumed ({checkpoint})' in log
    if family in ITERATION_BASED:
        fast = train(shipped(family, data, str(tmp_path / 'fast')), resume_from=checkpoint, fast=True)
        assert fast == straight[2:]


@pytest.mark.parametrize('family', ['segmenter', 'classification'])
def test_without_the_checkpoint_seed_the_resume_differs(tmp_path, data, monkeypatch, family):
    """The control: mmengine's own order (a drawn seed for the sampler, the checkpoint's read later)."""
    from mmedit_vit.engine import runner as runner_module
    straight = train(shipped(family, data, str(tmp_path / 'a')))
    monkeypatch.setattr(runner_module, 'read_checkpoint_meta', lambda path: {})
    resumed = train(shipped(family, data, str(tmp_path / 'b')), resume_from=half_way(str(tmp_path / 'a'), family))
    assert resumed != straight[2:]


def test_a_moved_work_dir_resumes_from_its_own_checkpoint(tmp_path, data):
    """``last_checkpoint`` holds a path relative to the work dir; an old absolute one is looked up there."""
    first = str(tmp_path / 'scratch' / 'run')
    cfg = shipped('segmenter', data, first)
    cfg.train_cfg.max_iters = 2
    train(cfg)
    with open(osp.join(first, 'last_checkpoint')) as f:
        assert f.read() == 'iter_2.pth'
    moved = str(tmp_path / 'home' / 'run')
    shutil.move(first, moved)
    cfg = shipped('segmenter', data, moved)
    cfg.resume = True
    assert len(train(cfg)) == 2  # iterations 3 and 4
    with open(osp.join(moved, 'last_checkpoint'), 'w') as f:  # as written before: the absolute old path
        f.write(osp.join(first, 'iter_4.pth'))
    from mmedit_vit.engine.latest_checkpoint import latest_checkpoint
    assert latest_checkpoint(moved) == osp.join(moved, 'iter_4.pth')
    os.remove(osp.join(moved, 'iter_4.pth'))
    with pytest.raises(FileNotFoundError, match='has no iter_4.pth either'):
        latest_checkpoint(moved)


@pytest.mark.slow
@pytest.mark.parametrize('family, persistent', [('segmenter', True), ('classification', False)])
def test_resume_with_loader_workers(tmp_path, data, family, persistent):
    """Loader workers are seeded from the run's seed, worker and rank; mmengine's resume reads the trained
    batches again through them, so their random streams are where the uninterrupted run's were. That holds
    for one iterator over the whole run (iteration-based) and for workers started afresh each epoch
    (``persistent_workers=False``); persistent workers of an epoch-based run are not (docs/reliability.md)."""
    def cfg(work_dir):
        c = shipped(family, data, work_dir, num_workers=2)
        c.train_dataloader.persistent_workers = persistent
        return c
    straight = train(cfg(str(tmp_path / 'a')))
    resumed = train(cfg(str(tmp_path / 'b')), resume_from=half_way(str(tmp_path / 'a'), family))
    assert resumed == straight[2:]


DEMO_SEG = osp.join(ROOT, 'configs', 'demo', 'segmenter_edit_t_synthetic_ade20k.py')


def demo_options(data_root: str, *extra: str) -> list:
    """The demo Segmenter without its seed, as the shipped configs: 4 iterations, a checkpoint every 2."""
    options = ['train_cfg.max_iters=4', 'train_cfg.val_interval=100', 'default_hooks.checkpoint.interval=2',
               'default_hooks.checkpoint.max_keep_ckpts=3', 'default_hooks.logger.interval=1',
               'train_dataloader.batch_size=2', 'randomness.seed=None']
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options += [f'{split}.dataset.data_root={data_root}', f'{split}.num_workers=0',
                    f'{split}.persistent_workers=False']
    return ['--cfg-options', *options, *extra]


@pytest.mark.slow
def test_train_tool_resumes_a_moved_work_dir(tmp_path, data):
    from seg_helpers import run_tool, training_losses
    first, moved = str(tmp_path / 'scratch'), str(tmp_path / 'home')
    out = run_tool(['tools/train.py', DEMO_SEG, '--work-dir', first]
                   + demo_options(data['ade'], 'train_cfg.max_iters=2'))
    assert out.returncode == 0, out.stderr[-3000:]
    shutil.move(first, moved)
    out = run_tool(['tools/train.py', DEMO_SEG, '--work-dir', moved, '--resume'] + demo_options(data['ade']))
    assert out.returncode == 0, out.stderr[-3000:]
    assert sorted(training_losses(moved)) == [1, 2, 3, 4]
    assert 'resumed epoch: 0, iter: 2' in out.stdout + out.stderr


@pytest.mark.slow
def test_two_process_resume_and_fast_resume(tmp_path, data):
    """torchrun, 2 processes on CPU (gloo), each with a loader worker, validating at the end: ``--resume`` and
    ``--fast-resume`` from iteration 2 give the uninterrupted run's logged losses of iterations 3 and 4; each of
    the three runs exits cleanly; fast resume with 1 process is refused."""
    from test_fault_tolerance import torchrun

    from seg_helpers import run_tool, training_losses
    two_process = ['train_dataloader.num_workers=1', 'train_dataloader.persistent_workers=True',
                   'train_cfg.val_interval=4']
    straight = str(tmp_path / 'straight')
    out = torchrun(['tools/train.py', DEMO_SEG, '--work-dir', straight] + demo_options(data['ade'], *two_process))
    assert out.returncode == 0, out.stderr[-4000:]
    log = out.stdout + out.stderr
    assert 'distributed on CPU with gloo (rank 0 of 2)' in log and 'Distributed training: True' in log
    assert 'terminate called' not in out.stderr and 'mIoU' in log  # validated on 2 processes
    checkpoint = osp.join(straight, 'iter_2.pth')
    assert load_checkpoint_file(checkpoint)['meta']['world_size'] == 2
    assert osp.isfile(osp.join(straight, 'iter_4.pth'))
    expected = training_losses(straight)
    for flags in (['--resume', checkpoint], ['--resume', checkpoint, '--fast-resume']):
        work_dir = str(tmp_path / f'resumed{len(flags)}')
        out = torchrun(['tools/train.py', DEMO_SEG, '--work-dir', work_dir, *flags]
                       + demo_options(data['ade'], *two_process))
        assert out.returncode == 0, out.stderr[-4000:]
        assert 'terminate called' not in out.stderr
        losses = training_losses(work_dir)
        assert sorted(losses) == [3, 4] and all(losses[i] == expected[i] for i in (3, 4)), (losses, expected)
    out = run_tool(['tools/train.py', DEMO_SEG, '--work-dir', str(tmp_path / 'one'), '--resume', checkpoint,
                    '--fast-resume'] + demo_options(data['ade']))
    assert out.returncode == 1
    assert 'written by a run of 2 process(es), this run has 1' in out.stderr and 'Traceback' not in out.stderr
