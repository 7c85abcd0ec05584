"""A short classification run on a generated folder dataset through mmengine's Runner (the path
tools/train.py and tools/test.py take): learns, evaluates top-1/top-5, resumes exactly, and its
checkpoint starts a dense-task backbone and the robustness evaluation."""
import glob
import json
import os.path as osp
import pickle

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import MODELS
from mmengine.runner import Runner

from conftest import ROOT
from mmedit_vit.apis import robustness
from mmedit_vit.converters import load_pretrained
from mmedit_vit.datasets import make_synthetic_folder
from tool_runner import run_tool

pytestmark = pytest.mark.usefixtures('one_thread')  # small models: one thread is fastest

pytestmark = pytest.mark.slow  # every test reads one training run (the module fixture)
CONFIG = osp.join(ROOT, 'configs', 'demo', 'cls_edit_t_synthetic.py')


class Recorder(Hook):
    """Training losses per (epoch, iteration) and test scores, as the runner produced them."""

    def __init__(self):
        self.losses, self.scores = {}, []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.losses[(runner.epoch, batch_idx)] = outputs['loss'].item()

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.scores += [sample.pred_score for sample in outputs]


def synthetic_cfg(data_root, work_dir, name, **options) -> Config:
    cfg = Config.fromfile(CONFIG)
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[split].dataset.data_root = data_root
    cfg.work_dir = work_dir
    cfg.experiment_name = name
    cfg.merge_from_dict(options)
    return cfg


def run(cfg: Config, mode: str = 'train'):
    runner = Runner.from_cfg(cfg)
    recorder = Recorder()
    runner.register_hook(recorder, priority='LOWEST')
    metrics = runner.train() if mode == 'train' else runner.test()
    return runner, recorder, metrics


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp('cls')
    data_root = str(root / 'data')
    make_synthetic_folder(data_root)
    work_dir = str(root / 'work')
    # checkpoints at epochs 7 (to resume from) and 8 (the last) only: less disk traffic
    runner, recorder, _ = run(synthetic_cfg(data_root, work_dir, 'full', **{'default_hooks.checkpoint.interval': 7}))
    top1 = runner.message_hub.get_scalar('val/accuracy/top1').current()
    return dict(data_root=data_root, work_dir=work_dir, losses=recorder.losses, top1=top1, epochs=runner.max_epochs)


def test_short_run_beats_chance(trained):
    assert trained['epochs'] == 8 and len(trained['losses']) == 8 * 12  # 192 images / batch 16
    assert trained['top1'] > 75.0  # 4 classes: chance is 25%


def test_resume_continues_exactly(trained, tmp_path):
    """Resuming from the epoch-7 checkpoint reproduces every loss of epoch 8 of the uninterrupted run."""
    cfg = synthetic_cfg(trained['data_root'], str(tmp_path), 'resumed', resume=True,
                        load_from=osp.join(trained['work_dir'], 'epoch_7.pth'))
    _, recorder, _ = run(cfg)
    assert sorted(recorder.losses) == [(7, i) for i in range(12)]
    for key, loss in recorder.losses.items():
        assert loss == pytest.approx(trained['losses'][key], abs=1e-6), key


def test_checkpoint_evaluates_top1_top5_and_under_perturbations(trained, tmp_path):
    checkpoint = osp.join(trained['work_dir'], 'epoch_8.pth')
    results, scores = {}, {}
    for name, switch in (('clean', None), ('occlusion', lambda c: robustness.enable_occlusion(c)),
                         ('fgsm', lambda c: robustness.enable_fgsm(c, eps=16 / 255))):
        cfg = synthetic_cfg(trained['data_root'], str(tmp_path / name), f'test_{name}', load_from=checkpoint)
        if switch is not None:
            cfg = switch(cfg)
        _, recorder, results[name] = run(cfg, mode='test')
        scores[name] = torch.stack(recorder.scores)
    assert results['clean']['accuracy/top1'] == pytest.approx(trained['top1'])
    assert results['clean']['accuracy/top5'] == 100.0  # k >= 4 classes
    assert scores['clean'].shape == (64, 4)
    assert not torch.allclose(scores['occlusion'], scores['clean'], atol=1e-3)
    assert results['fgsm']['accuracy/top1'] < results['clean']['accuracy/top1']


def test_checkpoint_initialises_a_dense_backbone_strictly(trained):
    checkpoint = osp.join(trained['work_dir'], 'epoch_8.pth')
    backbone = MODELS.build(dict(type='EDITViT', arch='tiny', img_size=64, out_indices=(3, 5, 7, 11)))
    notes = load_pretrained(backbone, checkpoint=checkpoint)
    assert any('left out 2 other keys (head.bias, head.weight)' in n for n in notes)
    state = torch.load(checkpoint, map_location='cpu', weights_only=False)['state_dict']
    assert sorted(state) == sorted(['head.weight', 'head.bias'] + [f'backbone.{k}' for k in backbone.state_dict()])
    for key, value in backbone.state_dict().items():
        if key != 'pos_embed':  # resampled from 14x14 to 4x4
            assert torch.equal(value, state[f'backbone.{key}']), key


def test_tools_test_runs_the_robustness_flags(trained, tmp_path):
    checkpoint = osp.join(trained['work_dir'], 'epoch_8.pth')
    out = run_tool(['tools/test.py', CONFIG, checkpoint, '--occlusion', '--fgsm', '0.01', '--work-dir', str(tmp_path),
                    '--out', str(tmp_path / 'preds.pkl'),
                    '--cfg-options', f"test_dataloader.dataset.data_root={trained['data_root']}"])
    assert out.returncode == 0, out.stderr[-3000:]
    metrics = glob.glob(str(tmp_path / '*' / '*.json'))
    assert len(metrics) == 1 and {'accuracy/top1', 'accuracy/top5'} <= set(json.load(open(metrics[0])))
    dumped = Config.fromfile(glob.glob(str(tmp_path / '*' / 'vis_data' / 'config.py'))[0])
    expected = [dict(type='center_occlusion', size=112, at_size=224, fill='zero'), dict(type='fgsm', eps=0.01)]
    assert dumped.model.test_perturbation == expected
    assert json.load(open(metrics[0]))['test_perturbation'] == expected  # which fill the result used
    with open(tmp_path / 'preds.pkl', 'rb') as f:
        predictions = pickle.load(f)
    assert len(predictions) == 4 * 16 and predictions[0]['pred_score'].shape == (4,)  # 16 val images per class
