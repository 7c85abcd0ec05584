"""tools/train.py and tools/test.py run as users run them, on the generated ADE20K-format data."""
import os.path as osp

import pytest
import torch

from mmedit_vit.datasets import make_synthetic_ade20k
from seg_helpers import DEMO_CONFIG, ROOT, latest_test_metrics, run_tool, training_losses


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    return make_synthetic_ade20k(str(tmp_path_factory.mktemp('ade')), num_train=32, num_val=8, size=(128, 160))


def data_options(data_root: str) -> list:
    return [f'{split}.dataset.data_root={data_root}' for split in
            ('train_dataloader', 'val_dataloader', 'test_dataloader')] + [
        'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0', 'test_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False', 'val_dataloader.persistent_workers=False',
        'test_dataloader.persistent_workers=False']


def check(proc):
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return proc


@pytest.fixture(scope='module')
def trained(data_root, tmp_path_factory):
    """A shortened demo: 60 iterations of 4 crops."""
    work_dir = str(tmp_path_factory.mktemp('demo'))
    iters = 60
    check(run_tool(['tools/train.py', DEMO_CONFIG, '--work-dir', work_dir, '--cfg-options'] + data_options(data_root)
                   + ['train_dataloader.batch_size=4', f'train_cfg.max_iters={iters}',
                      f'train_cfg.val_interval={iters}',
                      f'default_hooks.checkpoint.interval={iters}']))
    return work_dir, osp.join(work_dir, f'iter_{iters}.pth')


def untrained_checkpoint(path: str) -> str:
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(DEMO_CONFIG).model)
    model.init_weights()
    torch.save(dict(state_dict=model.state_dict(), meta={}), path)
    return path


@pytest.mark.slow
def test_short_demo_training_learns(trained, data_root, tmp_path):
    work_dir, checkpoint = trained
    test = ['tools/test.py', DEMO_CONFIG]
    floor_dir, single_dir = str(tmp_path / 'untrained'), str(tmp_path / 'single')
    check(run_tool(test + [untrained_checkpoint(str(tmp_path / 'untrained.pth')), '--work-dir', floor_dir,
                           '--cfg-options'] + data_options(data_root)))
    check(run_tool(test + [checkpoint, '--work-dir', single_dir, '--cfg-options'] + data_options(data_root)))
    floor, single = latest_test_metrics(floor_dir), latest_test_metrics(single_dir)
    print(f'untrained mIoU {floor["mIoU"]:.2f}, after 60 iterations {single["mIoU"]:.2f}')
    assert floor['mIoU'] < 10.0
    assert single['mIoU'] > floor['mIoU'] + 25.0


@pytest.mark.slow
def test_tta_and_show_dir(trained, data_root, tmp_path):
    _, checkpoint = trained
    out = str(tmp_path / 'tta')
    check(run_tool(['tools/test.py', DEMO_CONFIG, checkpoint, '--tta', '--work-dir', out,
                    '--show-dir', str(tmp_path / 'vis'), '--cfg-options'] + data_options(data_root)))
    assert latest_test_metrics(out)['mIoU'] > 20.0
    drawn = list((tmp_path / 'vis').rglob('*.png'))
    assert len(drawn) == 8


@pytest.mark.slow
def test_perturbed_evaluation_is_reproducible(trained, data_root, tmp_path):
    """The same seed gives the same predictions, pixel for pixel; another seed draws other noise.

    Predictions (``--out``), not the rounded mIoU, are compared: two noise draws can give equal mIoU."""
    import numpy as np
    from PIL import Image
    _, checkpoint = trained
    predictions = []
    for i, seed in enumerate((3, 3, 4)):
        out, pred_dir = str(tmp_path / f'noise{i}'), tmp_path / f'pred{i}'
        check(run_tool(['tools/test.py', DEMO_CONFIG, checkpoint, '--perturb', 'gaussian_noise_10',
                        '--perturb-seed', str(seed), '--work-dir', out, '--out', str(pred_dir),
                        '--cfg-options'] + data_options(data_root)))
        files = sorted(pred_dir.rglob('*.png'))
        assert len(files) == 8, files
        predictions.append(np.stack([np.asarray(Image.open(f)) for f in files]))
    assert np.array_equal(predictions[0], predictions[1])
    assert not np.array_equal(predictions[0], predictions[2])


@pytest.mark.slow
def test_resume_continues_with_the_same_loss(data_root, tmp_path):
    options = data_options(data_root) + [
        'default_hooks.logger.interval=1', 'default_hooks.checkpoint.interval=2', 'train_cfg.val_interval=100',
        'model.backbone.drop_path_rate=0.0', 'train_dataloader.batch_size=2']
    full, part = str(tmp_path / 'full'), str(tmp_path / 'part')
    check(run_tool(['tools/train.py', DEMO_CONFIG, '--work-dir', full, '--cfg-options', 'train_cfg.max_iters=4']
                   + options))
    check(run_tool(['tools/train.py', DEMO_CONFIG, '--work-dir', part, '--cfg-options', 'train_cfg.max_iters=2']
                   + options))
    proc = check(run_tool(['tools/train.py', DEMO_CONFIG, '--work-dir', part, '--resume',
                           '--cfg-options', 'train_cfg.max_iters=4'] + options))
    assert 'resumed' in (proc.stdout + proc.stderr).lower()
    reference, resumed = training_losses(full), training_losses(part)
    assert sorted(reference) == [1, 2, 3, 4] and sorted(resumed) == [1, 2, 3, 4]
    for it in (3, 4):
        assert resumed[it] == pytest.approx(reference[it], rel=1e-5)


@pytest.mark.slow  # a subprocess of the tool
def test_missing_dataset_stops_with_a_clear_message(tmp_path):
    proc = run_tool([osp.join(ROOT, 'tools', 'train.py'), osp.join(ROOT, 'configs', 'segmenter_edit_b_ade20k.py'),
                     '--work-dir', str(tmp_path), '--cfg-options', 'model.backbone.init_cfg=None'], cwd=str(tmp_path))
    assert proc.returncode != 0
    assert 'Traceback' not in proc.stderr
    assert "'data/ade/ADEChallengeData2016'" in proc.stderr
    assert 'ADEChallengeData2016.zip' in proc.stderr and 'tools/run_demo.sh' in proc.stderr


@pytest.mark.slow  # a subprocess of the tool
def test_missing_pretrained_file_stops_with_a_clear_message(data_root, tmp_path):
    proc = run_tool(['tools/train.py', osp.join(ROOT, 'configs', 'segmenter_edit_b_ade20k.py'),
                     '--work-dir', str(tmp_path), '--cfg-options'] + data_options(data_root))
    assert proc.returncode != 0 and 'Traceback' not in proc.stderr
    assert "model.backbone.init_cfg: 'pretrain/cls_edit_b_in1k.pth'" in proc.stderr
    assert 'tools/convert_timm.py' in proc.stderr
