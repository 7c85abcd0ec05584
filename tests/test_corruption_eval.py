"""tools/test.py --corruptions: the summary (P / mPC / rPC, CE / mCE), the argument checks made before the clean
evaluation, the pipeline swap, the figure; end to end for segmentation, detection (against mmdet's own
test_robustness.py) and classification on generated data (slow tier)."""
import json
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from PIL import Image

from mmedit_vit.analysis.corruption_plot import load_runs, plot_corruptions
from mmedit_vit.apis.corruption_eval import (
    corruption_errors,
    markdown_table,
    run_corruptions,
    set_corruption,
    summarize,
)
from mmedit_vit.datasets import make_synthetic_ade20k, make_synthetic_folder
from mmedit_vit.datasets.transforms.corruptions import BENCHMARK_CORRUPTIONS, Corrupt
from mmedit_vit.utils.run_logs import latest_test_metrics
from seg_helpers import DEMO_CONFIG, ROOT, run_tool

DET_CONFIG = osp.join(ROOT, 'configs', 'demo', 'maskrcnn_edit_t_synthetic_coco.py')
CLS_CONFIG = osp.join(ROOT, 'configs', 'demo', 'cls_edit_t_synthetic.py')


def report(clean: float, values: dict, metric: str = 'mIoU', best: float = 100.0) -> dict:
    return {'metric': metric, 'best': best, 'clean': {metric: clean},
            'results': {n: {s: {metric: v} for s, v in runs.items()} for n, runs in values.items()}}


def test_summary_means_and_drop_by_hand():
    r = report(40.0, {'gaussian_noise': {'1': 30.0, '5': 10.0}, 'defocus_blur': {'1': 36.0, '5': 20.0},
                      'speckle_noise': {'1': 0.0, '5': 0.0}})  # hold-out: not in the benchmark mean
    s = summarize(r)
    assert s['benchmark_corruptions'] == ['gaussian_noise', 'defocus_blur']
    assert s['benchmark_mean'] == pytest.approx((30 + 10 + 36 + 20) / 4)
    assert s['drop'] == pytest.approx(40 - 24)
    assert s['families'] == {'noise': 20.0, 'blur': 28.0, 'holdout': 0.0}
    assert s['severities'] == {'1': 33.0, '5': 15.0}
    assert 'mCE' not in s
    r['summary'] = s
    table = markdown_table(r)
    assert '| gaussian_noise | noise | 30.00 | 10.00 | 20.00 |' in table
    assert 'mIoU: clean 40.00, benchmark mean 24.00, drop 16.00 (2 benchmark corruptions)' in table


def test_corruption_error_is_normalised_by_the_reference():
    ref = report(40.0, {'gaussian_noise': {'1': 30.0, '5': 10.0}, 'contrast': {'1': 50.0, '5': 50.0}})
    ours = report(45.0, {'gaussian_noise': {'1': 40.0, '5': 20.0}, 'contrast': {'1': 50.0, '5': 50.0}})
    s = summarize(ours, ref)
    assert s['CE']['gaussian_noise'] == pytest.approx(100 * (60 + 80) / (70 + 90))
    assert s['CE']['contrast'] == pytest.approx(100.0)
    # 2 of the 15 benchmark corruptions: a mean CE, not an mCE
    assert 'mCE' not in s and s['mean_CE_corruptions'] == 2
    assert s['mean_CE'] == pytest.approx((100 * 140 / 160 + 100) / 2)
    ours['summary'] = s
    assert 'mean CE over 2 corruptions 93.8' in markdown_table(ours) and 'mCE' not in markdown_table(ours)
    full = report(40.0, {name: {'3': 20.0} for name in BENCHMARK_CORRUPTIONS})
    assert summarize(full, full)['mCE'] == pytest.approx(100.0)
    with pytest.raises(ValueError, match='severities'):
        corruption_errors({'gaussian_noise': {'3': 1.0}}, 'mIoU', 100.0, ref)
    with pytest.raises(ValueError, match='same task'):
        corruption_errors({'gaussian_noise': {'1': 1.0}}, 'accuracy/top1', 100.0, ref)


def test_detection_and_segmentation_report_p_mpc_rpc():
    """Michaelis et al.: P = clean, mPC = mean over benchmark corruptions and severities, rPC = mPC / P."""
    r = dict(report(0.40, {'fog': {'1': 0.30, '3': 0.20}, 'pixelate': {'1': 0.38, '3': 0.32},
                           'saturate': {'1': 0.0}}, metric='coco/bbox_mAP', best=1.0), task='mmdet')
    s = summarize(r)
    assert s['P'] == pytest.approx(0.40) and s['mPC'] == pytest.approx(0.30)
    assert s['rPC'] == pytest.approx(75.0)
    r['summary'] = s
    assert 'coco/bbox_mAP: P 0.400, mPC 0.300, rPC 75.0 % (2 benchmark corruptions)' in markdown_table(r)
    assert 'mPC' not in summarize(dict(r, task='mmedit_vit'))  # classification: errors and CE instead


def test_a_detector_that_finds_nothing_scores_zero():
    """mmdet's CocoMetric returns {} when no image has a detection (snow at severity 2 on the short demo
    checkpoint): that is box AP 0, not a missing metric."""
    from mmedit_vit.apis.corruption_eval import with_empty_detections
    assert with_empty_detections({}, 'mmdet', 'coco/bbox_mAP') == {'coco/bbox_mAP': 0.0, 'no_detections': True}
    assert with_empty_detections({'coco/bbox_mAP': 0.3}, 'mmdet', 'coco/bbox_mAP') == {'coco/bbox_mAP': 0.3}
    assert with_empty_detections({}, 'mmseg', 'mIoU') == {}  # elsewhere an empty result stays an error


class _Runner:
    """Stands in for mmengine's Runner: an evaluation here means an argument was checked too late."""
    work_dir = '/nonexistent'

    def test(self):
        raise AssertionError('the clean evaluation ran before the arguments were checked')


SEG_CFG = Config(dict(default_scope='mmseg', test_dataloader=dict(dataset=dict(pipeline=[]))))


def test_bad_corruption_seed_is_refused_before_the_clean_evaluation():
    with pytest.raises(ValueError, match='--corruption-seed -1'):
        run_corruptions(_Runner(), SEG_CFG, ['fog'], [1], seed=-1)
    from mmedit_vit.apis.test_cli import parse_args
    with pytest.raises(SystemExit):
        parse_args(['cfg.py', 'ckpt.pth', '--corruptions', 'fog', '--corruption-seed', '-1'])


def test_reference_on_other_images_is_refused_before_the_clean_evaluation():
    ref = dict(report(40.0, {'fog': {'1': 30.0}}), seed=0, format='raw', test_set=None)
    with pytest.raises(ValueError, match='--corruption-seed 0 there, 1 here'):
        run_corruptions(_Runner(), SEG_CFG, ['fog'], [1], reference=ref, seed=1)
    with pytest.raises(ValueError, match='--corruption-format raw there, jpeg85 here'):
        run_corruptions(_Runner(), SEG_CFG, ['fog'], [1], reference=ref, image_format='jpeg85')
    with pytest.raises(ValueError, match=r"no evaluation of \['fog 2'\]"):
        run_corruptions(_Runner(), SEG_CFG, ['fog'], [2], reference=ref)


class _Dataset:
    def __init__(self):
        self.pipeline = Compose([dict(type='LoadImageFromFile'), dict(type='mmseg.PackSegInputs')])


def test_corruption_goes_right_after_loading_and_replaces_the_previous_one():
    dataset = _Dataset()
    names = lambda: [type(t).__name__ for t in dataset.pipeline.transforms]  # noqa: E731
    set_corruption(dataset, Corrupt('fog', 2))
    assert names() == ['LoadImageFromFile', 'Corrupt', 'PackSegInputs']
    set_corruption(dataset, Corrupt('snow', 3))
    assert names() == ['LoadImageFromFile', 'Corrupt', 'PackSegInputs']
    assert dataset.pipeline.transforms[1].corruption == 'snow'
    set_corruption(dataset, None)
    assert names() == ['LoadImageFromFile', 'PackSegInputs']


def test_plot_draws_one_line_per_run(tmp_path):
    paths = []
    for i, clean in enumerate((40.0, 42.0)):
        path = tmp_path / f'run{i}.json'
        path.write_text(json.dumps(report(clean, {'gaussian_noise': {str(s): clean - 5 * s for s in range(1, 6)},
                                                  'fog': {'3': clean - 1}})))
        paths.append(str(path))
    runs = load_runs(paths, ['DeiT-III', 'EDIT'])
    assert list(runs) == ['DeiT-III', 'EDIT']
    size = plot_corruptions(runs, str(tmp_path / 'fig.png'))
    assert Image.open(tmp_path / 'fig.png').size == size
    with pytest.raises(ValueError, match='different metrics'):
        plot_corruptions({'a': runs['EDIT'], 'b': report(1.0, {'fog': {'1': 0.5}}, metric='accuracy/top1')},
                         str(tmp_path / 'bad.png'))


# ----------------------------------------------------------------------------------- end to end (slow)
def untrained(config: str, scope: str, path: str) -> str:
    from mmengine.config import Config
    from mmengine.registry import MODELS, DefaultScope
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope(scope):
        model = MODELS.build(Config.fromfile(config).model)
    model.init_weights()
    torch.save(dict(state_dict=model.state_dict(), meta={}), path)
    return path


def check(proc):
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return proc


def load(work_dir) -> dict:
    with open(osp.join(work_dir, 'corruptions.json')) as f:
        return json.load(f)


@pytest.mark.slow
def test_segmentation_clean_row_json_and_ce(tmp_path):
    data = make_synthetic_ade20k(str(tmp_path / 'ade'), num_train=8, num_val=3, size=(64, 80))
    loaders = ('train_dataloader', 'val_dataloader', 'test_dataloader')
    opts = ['--cfg-options'] + [f'{split}.{key}' for split in loaders for key in (
        f'dataset.data_root={data}', 'num_workers=0', 'persistent_workers=False')]
    # a few iterations: predictions that score above zero, so the clean-row comparison means something
    check(run_tool(['tools/train.py', DEMO_CONFIG, '--work-dir', str(tmp_path / 'train')] + opts + [
        'train_dataloader.batch_size=4', 'train_cfg.max_iters=16', 'train_cfg.val_interval=16',
        'default_hooks.checkpoint.interval=16']))
    ckpt = str(tmp_path / 'train' / 'iter_16.pth')
    plain, first, second = (str(tmp_path / n) for n in ('plain', 'first', 'second'))
    check(run_tool(['tools/test.py', DEMO_CONFIG, ckpt, '--work-dir', plain] + opts))
    proc = check(run_tool(['tools/test.py', DEMO_CONFIG, ckpt, '--work-dir', first, '--corruptions', 'noise',
                           'zoom_blur', '--severities', '1', '5'] + opts))
    assert proc.stdout.count('corruptions [') == 1 + 4 * 2
    r = load(first)
    assert set(r) >= {'clean', 'results', 'summary'}
    assert list(r['results']) == ['gaussian_noise', 'shot_noise', 'impulse_noise', 'zoom_blur']
    assert all(list(runs) == ['1', '5'] for runs in r['results'].values())
    plain_metrics = latest_test_metrics(plain)
    assert r['clean']['mIoU'] > 0
    assert r['clean'] == pytest.approx({key: plain_metrics[key] for key in ('aAcc', 'mIoU', 'mAcc')})
    values = [v['mIoU'] for runs in r['results'].values() for v in runs.values()]
    assert r['summary']['benchmark_mean'] == pytest.approx(np.mean(values))
    assert r['summary']['drop'] == pytest.approx(r['clean']['mIoU'] - np.mean(values))
    assert osp.isfile(osp.join(first, 'corruptions.png')) and osp.isfile(osp.join(first, 'corruptions.md'))
    # the same model as its own reference: the same corrupted images, so every CE is 100
    check(run_tool(['tools/test.py', DEMO_CONFIG, ckpt, '--work-dir', second, '--corruptions', 'gaussian_noise',
                    '--severities', '1', '5', '--ce-reference', first] + opts))
    r2 = load(second)
    assert r2['results']['gaussian_noise'] == r['results']['gaussian_noise']
    assert r2['summary']['mean_CE'] == pytest.approx(100.0)  # one corruption: a mean CE, not an mCE
    bad = run_tool(['tools/test.py', DEMO_CONFIG, ckpt, '--corruptions', 'rain'] + opts)
    assert bad.returncode != 0 and 'rain' in bad.stderr


def det_options(data: str) -> list:
    """The test split of ``data``, its first 8 images (both tools evaluate the same ones; on 4, a corruption under
    which the detector finds nothing stops mmdet's script with a KeyError)."""
    return ['--cfg-options', f'test_dataloader.dataset.data_root={data}', 'test_dataloader.num_workers=0',
            'test_dataloader.dataset.indices=8', f'test_evaluator.ann_file={data}annotations/instances_val2017.json']


@pytest.mark.slow
def test_detection_p_and_ap_equal_mmdets_test_robustness(detection_demo, tmp_path):
    """mmdet 3.3's own tools/analysis_tools/test_robustness.py (shipped under mmdet/.mim) and ours, on the
    same checkpoint, for two corruptions without randomness: the same P and the same AP per corruption."""
    import mmdet
    from mmengine.fileio import load as load_pickle
    ckpt, data = detection_demo.checkpoint, detection_demo.data  # the demo as shipped (tests/conftest.py)
    mim = osp.join(osp.dirname(mmdet.__file__), '.mim')
    script = osp.join(mim, 'tools', 'analysis_tools', 'test_robustness.py')
    assert osp.isfile(script), f'mmdet does not ship {script}'
    names, metric = ['contrast', 'defocus_blur'], 'coco/bbox_mAP'
    out = str(tmp_path / 'mmdet' / 'out.pkl')
    # its script sets model.backbone.init_cfg.type (the demo backbone has no init_cfg; the weights come from the
    # checkpoint either way) and imports tools.analysis_tools from the folder above tools/
    config = tmp_path / 'det.py'
    config.write_text(f'_base_ = [{DET_CONFIG!r}]\n'
                      "model = dict(backbone=dict(init_cfg=dict(_delete_=True, type='Pretrained', checkpoint=None)))\n")
    check(run_tool([script, str(config), ckpt, '--out', out, '--work-dir', str(tmp_path / 'mmdet'),
                    '--corruptions', *names, '--severities', '0', '3', '--final-prints', 'P', 'mPC', 'rPC']
                   + det_options(data), env={'PYTHONPATH': os.pathsep.join([mim, ROOT])},
                   subprocess=True))  # mmdet's script imports its own `tools` package: its own interpreter
    theirs = load_pickle(out.replace('.pkl', '_results.pkl'))
    work = str(tmp_path / 'ours')
    check(run_tool(['tools/test.py', DET_CONFIG, ckpt, '--work-dir', work, '--corruptions', *names,
                    '--severities', '3'] + det_options(data)))
    ours = load(work)
    assert ours['clean'][metric] > 0.05  # a detector that finds something: the comparison means something
    assert ours['summary']['P'] == pytest.approx(theirs[names[0]][0][metric], abs=1e-12)
    for name in names:
        assert ours['results'][name]['3'][metric] == pytest.approx(theirs[name][3][metric], abs=1e-12), name
        assert ours['results'][name]['3']['coco/segm_mAP'] == pytest.approx(theirs[name][3]['coco/segm_mAP'],
                                                                            abs=1e-12)
    assert ours['summary']['mPC'] == pytest.approx(np.mean([theirs[n][3][metric] for n in names]))
    assert ours['summary']['rPC'] == pytest.approx(100 * ours['summary']['mPC'] / ours['summary']['P'])


@pytest.mark.slow
def test_classification_through_corruptions(tmp_path):
    data = str(tmp_path / 'cls')
    make_synthetic_folder(data, num_classes=4, train_per_class=1, val_per_class=2, size=48)
    ckpt = untrained(CLS_CONFIG, 'mmedit_vit', str(tmp_path / 'cls.pth'))
    work = str(tmp_path / 'work')
    check(run_tool(['tools/test.py', CLS_CONFIG, ckpt, '--work-dir', work, '--corruptions', 'contrast',
                    '--severities', '1', '5', '--cfg-options', f'test_dataloader.dataset.data_root={data}']))
    r = load(work)
    assert r['metric'] == 'accuracy/top1' and list(r['results']['contrast']) == ['1', '5']
