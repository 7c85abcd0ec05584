"""Faults: a kill while saving, a resume with drop path on, a diverging loss, strict loading, errors
from the tools without tracebacks, and two-process DDP runs.

The first half runs a seconds-long toy through the project's runner and hooks (tests/toy_runner.py);
the tests marked slow run tools/train.py, tools/test.py and torchrun on the demo configs.
"""
import os
import os.path as osp
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest
import torch
from toy_runner import toy_config, toy_runner

from mmedit_vit.converters import CheckpointMismatchError
from mmedit_vit.engine import TrainingDivergedError
from mmedit_vit.utils import UnsafeCheckpointError, load_checkpoint_file
from seg_helpers import run_tool, training_losses

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SEG_DEMO = osp.join(ROOT, 'configs', 'demo', 'segmenter_edit_t_synthetic_ade20k.py')
CLS_DEMO = osp.join(ROOT, 'configs', 'demo', 'cls_edit_t_synthetic.py')


def last_checkpoint(work_dir: str) -> str:
    """The checkpoint ``last_checkpoint`` names (it holds the path relative to the work dir)."""
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        named = f.read().strip()
    assert not osp.isabs(named), named
    return osp.join(work_dir, named)


# ---------------------------------------------------------------------------------- exact resume
def test_resume_repeats_the_uninterrupted_run_exactly(tmp_path):
    straight = toy_runner(str(tmp_path / 'a'), max_iters=8, interval=4)
    straight.train()
    assert len(straight.model.losses) == 8
    toy_runner(str(tmp_path / 'b'), max_iters=4, interval=4).train()
    resumed = toy_runner(str(tmp_path / 'b'), max_iters=8, interval=4, resume=True)
    resumed.train()
    assert resumed.model.losses == straight.model.losses[4:]  # bit for bit


def test_without_the_random_states_the_resume_differs(tmp_path):
    """The control: mmengine alone reseeds on resume, and the toy notices."""
    straight = toy_runner(str(tmp_path / 'a'), max_iters=8, interval=4)
    straight.train()
    toy_runner(str(tmp_path / 'b'), max_iters=4, interval=4).train()
    cfg = toy_config(str(tmp_path / 'b'), max_iters=8, interval=4)
    cfg.custom_hooks = [h for h in cfg.custom_hooks if h['type'] != 'RandomStateHook']
    cfg.resume = True
    from mmedit_vit.apis import build_runner
    resumed = build_runner(cfg)
    resumed.train()
    assert resumed.model.losses != straight.model.losses[4:]


def test_checkpoint_holds_the_random_states(tmp_path):
    toy_runner(str(tmp_path), max_iters=4, interval=4).train()
    checkpoint = load_checkpoint_file(str(tmp_path / 'iter_4.pth'))
    states = checkpoint['random_states']
    assert len(states) == 1 and {'python', 'numpy', 'torch'} <= set(states[0])



def test_a_later_save_stores_the_states_of_its_own_moment(tmp_path):
    """The snapshot taken for the save at iteration 4 is not reused by a save after iteration 6."""
    from mmedit_vit.engine.hooks.random_state_hook import capture_random_state
    cfg = toy_config(str(tmp_path), max_iters=6, interval=4)
    cfg.default_hooks.checkpoint.save_last = False  # the last save of the run is at iteration 4
    from mmedit_vit.apis import build_runner
    runner = build_runner(cfg)
    runner.train()
    at_4 = load_checkpoint_file(str(tmp_path / 'iter_4.pth'))['random_states'][0]
    now = capture_random_state()
    runner.save_checkpoint(str(tmp_path), 'later.pth')
    later = load_checkpoint_file(str(tmp_path / 'later.pth'))['random_states'][0]
    assert torch.equal(later['torch'], now['torch']) and later['numpy'][2] == now['numpy'][2]
    assert not torch.equal(later['torch'], at_4['torch'])  # two iterations of dropout drew from it since

# ------------------------------------------------------------------------------------ divergence
def test_non_finite_loss_stops_before_saving(tmp_path):
    runner = toy_runner(str(tmp_path), max_iters=12, interval=4, max_keep=3, nan_at=6)
    with pytest.raises(TrainingDivergedError) as info:
        runner.train()
    message = str(info.value)
    assert 'iteration 6' in message and 'loss=nan' in message
    assert osp.join(str(tmp_path), 'iter_4.pth') in message
    assert sorted(f for f in os.listdir(tmp_path) if f.endswith('.pth')) == ['iter_4.pth']
    assert last_checkpoint(str(tmp_path)).endswith('iter_4.pth')


def test_non_finite_weights_are_not_saved(tmp_path):
    """A finite loss with weights made NaN after it (as an inf gradient would): refused when a save is due."""
    from mmengine.hooks import Hook

    class Poison(Hook):
        priority = 'HIGHEST'  # before NonFiniteLossHook's check of the same iteration

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            if batch_idx == 5:
                with torch.no_grad():
                    runner.model.fc2.bias[0] = float('inf')

    runner = toy_runner(str(tmp_path), max_iters=12, interval=3, max_keep=3)
    runner.register_hook(Poison())
    with pytest.raises(TrainingDivergedError, match=r'weights are not finite after iteration 6 \(1 tensors, first '
                                                    r'fc2.bias\)'):
        runner.train()
    assert sorted(f for f in os.listdir(tmp_path) if f.endswith('.pth')) == ['iter_3.pth']


# ----------------------------------------------------------------------------- kill during save
KILLED_WRITER = textwrap.dedent('''
    import os, sys, time
    sys.path.insert(0, {tests!r})
    from mmengine.fileio.backends import LocalBackend
    from toy_runner import toy_runner
    put, saves = LocalBackend.put, []

    def slow_put(self, obj, filepath):  # the third checkpoint is written half, then the process hangs
        saves.append(filepath)
        if len(saves) == 3:
            with open(filepath, 'wb') as f:
                f.write(obj[:len(obj) // 2])
                f.flush()
            open({marker!r}, 'w').close()
            time.sleep(120)
        return put(self, obj, filepath)

    LocalBackend.put = slow_put
    toy_runner({work_dir!r}, max_iters=100, interval=2, max_keep=1).train()
''')


def test_kill_during_save_keeps_the_last_complete_checkpoint(tmp_path):
    work_dir, marker = str(tmp_path / 'run'), str(tmp_path / 'writing')
    script = KILLED_WRITER.format(tests=osp.dirname(__file__), marker=marker, work_dir=work_dir)
    proc = subprocess.Popen([sys.executable, '-c', script], cwd=ROOT, env={**os.environ, 'OMP_NUM_THREADS': '1'})
    try:
        deadline = time.time() + 120
        while not osp.exists(marker):
            assert proc.poll() is None, 'the writer ended before the third save'
            assert time.time() < deadline
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)  # kill -9 in the middle of writing iter_6.pth
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    named = last_checkpoint(work_dir)
    assert named.endswith('iter_4.pth') and osp.isfile(named)
    assert load_checkpoint_file(named)['meta']['iter'] == 4  # complete, not the half-written file
    assert not osp.exists(osp.join(work_dir, 'iter_6.pth'))  # the partial file never got the real name
    resumed = toy_runner(work_dir, max_iters=8, interval=2, max_keep=1, resume=True)
    resumed.train()  # continues from iter_4; the leftover temporary file is cleaned
    assert len(resumed.model.losses) == 4
    assert last_checkpoint(work_dir).endswith('iter_8.pth')
    assert not [f for f in os.listdir(work_dir) if f.endswith('.tmp')]


def test_an_epoch_without_a_batch_is_explained(tmp_path):
    cfg = toy_config(str(tmp_path))
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1)
    cfg.train_dataloader.update(batch_size=64, sampler=dict(type='DefaultSampler', shuffle=True), drop_last=True)
    cfg.param_scheduler = dict(type='CosineAnnealingLR', by_epoch=True, T_max=1, convert_to_iter_based=True)
    from mmedit_vit.apis import build_runner
    with pytest.raises(ValueError, match='the training set has 32 samples.*batch_size=64.*at most 32'):
        build_runner(cfg).train()


# ---------------------------------------------------------------------------------- strict loading
@pytest.mark.parametrize('change, words', [
    (lambda s: {k: torch.zeros(v.shape[0] * 2, *v.shape[1:]) for k, v in s.items()}, ['shape mismatch', 'fc1.weight']),
    (lambda s: {k: v for k, v in s.items() if k != 'fc2.bias'}, ['missing in the checkpoint: fc2.bias']),
    (lambda s: {**s, 'extra.weight': torch.zeros(1)}, ['not in the model: extra.weight']),
])
def test_load_from_is_strict(tmp_path, change, words):
    runner = toy_runner(str(tmp_path))
    path = str(tmp_path / 'other.pth')
    torch.save({'state_dict': change(runner.model.state_dict())}, path)
    with pytest.raises(CheckpointMismatchError) as info:
        runner.load_checkpoint(path)
    assert 'other.pth' in str(info.value) and all(w in str(info.value) for w in words)


def test_load_from_accepts_its_own_checkpoint(tmp_path):
    """A file that fits is loaded: every tensor of the model then equals the file's (other values before)."""
    runner = toy_runner(str(tmp_path))
    path = str(tmp_path / 'own.pth')
    saved = {k: torch.randn_like(v) for k, v in runner.model.state_dict().items()}
    torch.save({'state_dict': saved}, path)
    assert not any(torch.equal(v, saved[k]) for k, v in runner.model.state_dict().items())
    runner.load_checkpoint(path)
    loaded = runner.model.state_dict()
    assert loaded.keys() == saved.keys() and all(torch.equal(loaded[k], saved[k]) for k in saved)


def test_resume_from_a_weights_only_file_explains(tmp_path):
    runner = toy_runner(str(tmp_path / 'run'))
    path = str(tmp_path / 'weights.pth')
    torch.save({'state_dict': runner.model.state_dict()}, path)
    runner = toy_runner(str(tmp_path / 'run'), resume=True)
    runner._load_from = path
    with pytest.raises(CheckpointMismatchError, match='weights-only file'):
        runner.train()


def test_resume_refuses_a_malicious_checkpoint(tmp_path, monkeypatch):
    from test_bad_inputs import malicious_checkpoint
    path = malicious_checkpoint(tmp_path)
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    runner = toy_runner(str(tmp_path / 'run'), resume=True)
    runner._load_from = path
    with pytest.raises(UnsafeCheckpointError):
        runner.train()
    assert not (tmp_path / 'PWNED').exists()


# ------------------------------------------------------------------------------ the tools (slow)
@pytest.fixture(scope='module')
def cls_data(tmp_path_factory):
    from mmedit_vit.datasets import make_synthetic_folder
    root = str(tmp_path_factory.mktemp('cls'))
    make_synthetic_folder(root, num_classes=4, train_per_class=8, val_per_class=2)
    return root


def cls_options(root: str, epochs: int = 1) -> list:
    return ['--cfg-options', f'train_dataloader.dataset.data_root={root}', f'val_dataloader.dataset.data_root={root}',
            f'test_dataloader.dataset.data_root={root}', f'train_cfg.max_epochs={epochs}', 'train_cfg.val_interval=1',
            'train_dataloader.batch_size=8']


@pytest.fixture(scope='module')
def ade_data(tmp_path_factory):
    from mmedit_vit.datasets import make_synthetic_ade20k
    return make_synthetic_ade20k(str(tmp_path_factory.mktemp('ade')), num_train=16, num_val=2, size=(64, 80))


def seg_options(root: str, iters: int, interval: int, *extra) -> list:
    return ['--cfg-options', f'train_dataloader.dataset.data_root={root}', f'val_dataloader.dataset.data_root={root}',
            f'test_dataloader.dataset.data_root={root}', f'train_cfg.max_iters={iters}',
            f'train_cfg.val_interval={iters}', f'default_hooks.checkpoint.interval={interval}',
            'default_hooks.checkpoint.max_keep_ckpts=2', 'default_hooks.logger.interval=1',
            'train_dataloader.batch_size=2', *extra]


@pytest.mark.slow
def test_tools_refuse_a_malicious_checkpoint_without_traceback(tmp_path, cls_data):
    from test_bad_inputs import malicious_checkpoint
    path = malicious_checkpoint(tmp_path)
    env = {'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD': '1'}
    init_cfg = f"model.backbone.init_cfg=[dict(type='Pretrained',checkpoint='{path}')]"
    runs = [['tools/test.py', CLS_DEMO, path, '--work-dir', str(tmp_path / 't')] + cls_options(cls_data),
            ['tools/train.py', CLS_DEMO, '--work-dir', str(tmp_path / 'r'), '--resume', path] + cls_options(cls_data),
            ['tools/train.py', CLS_DEMO, '--work-dir', str(tmp_path / 'i')] + cls_options(cls_data) + [init_cfg]]
    for args in runs:
        out = run_tool(args, env=env)
        assert out.returncode == 1, out.stderr[-2000:]
        assert 'refusing to load checkpoint' in out.stderr and 'evil.pth' in out.stderr
        assert 'Traceback' not in out.stderr
        assert not (tmp_path / 'PWNED').exists()
    debug = run_tool(['tools/test.py', CLS_DEMO, path, '--debug'] + cls_options(cls_data), env=env)
    assert debug.returncode != 0 and 'Traceback' in debug.stderr


@pytest.mark.slow
def test_tools_test_refuses_a_checkpoint_of_another_width(tmp_path, cls_data):
    from mmengine.registry import MODELS
    wide = MODELS.build(dict(type='ImageClassifier', num_classes=4,
                             backbone=dict(type='EDITViT', arch='small', img_size=48, patch_size=16)))
    path = str(tmp_path / 'small.pth')
    torch.save({'state_dict': wide.state_dict(), 'meta': {}}, path)
    out = run_tool(['tools/test.py', CLS_DEMO, path, '--work-dir', str(tmp_path / 't')] + cls_options(cls_data))
    assert out.returncode == 1
    assert 'shape mismatch' in out.stderr and 'small.pth' in out.stderr and 'Traceback' not in out.stderr


@pytest.mark.slow
def test_tools_train_stops_a_diverging_run(tmp_path, ade_data):
    work_dir = str(tmp_path / 'nan')
    out = run_tool(['tools/train.py', SEG_DEMO, '--work-dir', work_dir]
                   + seg_options(ade_data, 40, 1, 'optim_wrapper.optimizer.lr=1000', 'param_scheduler=[]'))
    assert out.returncode == 1, out.stderr[-3000:]
    assert 'training diverged' in out.stderr and 'Traceback' not in out.stderr
    named = last_checkpoint(work_dir)
    assert osp.isfile(named) and named in out.stderr
    assert torch.isfinite(torch.cat([v.flatten().float() for v in load_checkpoint_file(named)['state_dict'].values()
                                     if v.is_floating_point()])).all()


@pytest.mark.slow
def test_tools_resume_repeats_the_seg_demo_with_drop_path(tmp_path, ade_data):
    straight, split = str(tmp_path / 'straight'), str(tmp_path / 'split')
    drop = 'model.backbone.drop_path_rate=0.1'
    out = run_tool(['tools/train.py', SEG_DEMO, '--work-dir', straight] + seg_options(ade_data, 8, 4, drop))
    assert out.returncode == 0, out.stderr[-3000:]
    out = run_tool(['tools/train.py', SEG_DEMO, '--work-dir', split] + seg_options(ade_data, 4, 4, drop))
    assert out.returncode == 0, out.stderr[-3000:]
    out = run_tool(['tools/train.py', SEG_DEMO, '--work-dir', split, '--resume'] + seg_options(ade_data, 8, 4, drop))
    assert out.returncode == 0, out.stderr[-3000:]
    a, b = training_losses(straight), training_losses(split)
    assert sorted(a) == list(range(1, 9)) and sorted(b) == list(range(1, 9))
    assert [b[i] for i in range(5, 9)] == [a[i] for i in range(5, 9)]


def torchrun(args: list, timeout: int = 900) -> subprocess.CompletedProcess:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2', f'--master_port={port}'] + args \
        + ['--launcher', 'pytorch']
    return subprocess.run(cmd, cwd=ROOT, env={**os.environ, 'OMP_NUM_THREADS': '1'}, capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.slow
def test_two_process_ddp_trains_the_edit_classifier(tmp_path, cls_data):
    out = torchrun(['tools/train.py', CLS_DEMO, '--work-dir', str(tmp_path / 'ddp')] + cls_options(cls_data, epochs=2))
    assert out.returncode == 0, out.stderr[-4000:]
    assert osp.isfile(tmp_path / 'ddp' / 'epoch_2.pth')


# ------------------------------------------------------------- --resume past an unreadable checkpoint
def test_resume_falls_back_to_the_newest_readable_checkpoint_naming_the_unreadable_one(tmp_path, monkeypatch):
    import mmedit_vit.engine.latest_checkpoint as latest
    from mmedit_vit.apis import build_runner
    from mmedit_vit.apis.run_config import resume_latest
    lines = []
    monkeypatch.setattr(latest, 'print_log', lambda line, **_: lines.append(line))
    work_dir = str(tmp_path / 'run')
    toy_runner(work_dir, max_iters=6, interval=2, max_keep=3).train()  # iter_2, iter_4, iter_6
    newest = last_checkpoint(work_dir)
    assert newest.endswith('iter_6.pth')
    with open(newest, 'r+b') as f:  # a save cut short (a full disk, a node lost while writing)
        f.truncate(200)
    cfg = resume_latest(toy_config(work_dir, max_iters=8, interval=2, max_keep=3))
    assert cfg.resume and cfg.load_from == osp.join(work_dir, 'iter_4.pth')
    assert len(lines) == 1 and 'iter_6.pth' in lines[0] and 'cannot be read' in lines[0]
    assert 'resuming from ' + osp.join(work_dir, 'iter_4.pth') in lines[0]
    runner = build_runner(cfg)
    runner.train()
    assert len(runner.model.losses) == 4  # iterations 5-8: continued from iter_4
    assert last_checkpoint(work_dir).endswith('iter_8.pth')


def test_runs_built_within_one_second_keep_their_own_checkpoints_and_logs(tmp_path, monkeypatch):
    """mmengine names a run's message hub and logger after its timestamp (to the second): a second run in the
    same process and second took the first one's, and its checkpoint hook deleted its own iter_4 by the
    first run's ``keep_ckpt_ids``. Here the clock stands still between the runs."""
    import types

    import mmengine.runner.runner as mmengine_runner
    frozen = types.SimpleNamespace(time=lambda: 1.8e9, strftime=mmengine_runner.time.strftime,
                                   localtime=mmengine_runner.time.localtime)
    monkeypatch.setattr(mmengine_runner, 'time', frozen)
    first = toy_runner(str(tmp_path / 'a'), max_iters=4, interval=4, max_keep=1)
    first.train()
    second = toy_runner(str(tmp_path / 'b'), max_iters=6, interval=2, max_keep=3)
    second.train()
    assert second.timestamp == first.timestamp + '_2'
    assert second.message_hub is not first.message_hub and second.logger is not first.logger
    assert sorted(p.name for p in (tmp_path / 'b').glob('iter_*.pth')) == ['iter_2.pth', 'iter_4.pth', 'iter_6.pth']
    assert (tmp_path / 'b' / second.timestamp / f'{second.timestamp}.log').is_file()
    third = toy_runner(str(tmp_path / 'c'), max_iters=2, interval=2)
    assert third.timestamp == first.timestamp + '_3'


def test_resume_with_no_readable_checkpoint_names_each(tmp_path):
    from mmedit_vit.apis.run_config import resume_latest
    work_dir = tmp_path / 'run'
    work_dir.mkdir()
    for name in ('iter_2.pth', 'iter_4.pth'):
        (work_dir / name).write_bytes(b'')
    (work_dir / 'last_checkpoint').write_text('iter_4.pth')
    with pytest.raises(FileNotFoundError, match=r'no readable checkpoint .*iter_4\.pth is empty.*iter_2\.pth is empty'):
        resume_latest(toy_config(str(work_dir)))
    (work_dir / 'last_checkpoint').unlink()  # never saved: a first run starts from the beginning
    assert resume_latest(toy_config(str(work_dir))).resume is False
