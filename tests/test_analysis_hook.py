"""SinkStatsHook inside a real mmengine Runner: records on schedule into the log and the work_dir; the
records plotted over training."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.model import BaseModel
from mmengine.registry import HOOKS, MODELS
from mmengine.runner import Runner
from PIL import Image
from torch.utils.data import Dataset

from mmedit_vit.analysis.plots import OVER_TRAINING, PANEL
from mmedit_vit.analysis.sink_stats_log import read_sink_stats, sink_stats_series
from mmedit_vit.engine.hooks import SinkStatsHook


class ToyClassifier(BaseModel):
    """A tiny GatedViT with a linear head; ``backbone`` is where the hook finds the probes."""

    def __init__(self):
        super().__init__(data_preprocessor=dict(type='ImgDataPreprocessor', mean=[128.] * 3, std=[64.] * 3))
        self.backbone = MODELS.build(dict(type='GatedViT', arch=dict(embed_dims=32, num_heads=2, depth=4),
                                          img_size=32, out_cls_token=True))
        self.head = torch.nn.Linear(32, 3)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        logits = self.head(self.backbone(inputs)[0][1])
        if mode == 'loss':
            return dict(loss=torch.nn.functional.cross_entropy(logits, torch.stack(data_samples)))
        return logits


class ToyData(Dataset):
    """Images of two sizes, as random crops at image borders give: 32x32 and 32x48."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        g = torch.Generator().manual_seed(i)
        size = (3, 32, 32) if i % 2 == 0 else (3, 32, 48)
        return dict(inputs=torch.randint(0, 255, size, generator=g).float(), data_samples=torch.tensor(i % 3))


def run(tmp_path, hook: dict, max_iters=None, max_epochs=None):
    train_cfg = dict(by_epoch=True, max_epochs=max_epochs) if max_epochs else dict(by_epoch=False,
                                                                                   max_iters=max_iters)
    runner = Runner(
        model=ToyClassifier(), work_dir=str(tmp_path),
        train_dataloader=dict(dataset=ToyData(), sampler=dict(type='DefaultSampler', shuffle=False), batch_size=4,
                              num_workers=0, collate_fn=dict(type='pseudo_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)), train_cfg=train_cfg,
        custom_hooks=[hook], default_hooks=dict(checkpoint=None, logger=dict(type='LoggerHook', interval=1)),
        experiment_name=tmp_path.name)
    runner.train()
    with open(osp.join(tmp_path, 'sink_stats.jsonl')) as f:
        records = [json.loads(line) for line in f]
    with open(osp.join(runner.log_dir, f'{runner.timestamp}.log')) as f:
        log = f.read()
    return runner, records, log


def test_records_every_n_iterations(tmp_path):
    runner, records, log = run(tmp_path, dict(type='SinkStatsHook', interval=2, num_images=2), max_iters=5)
    assert [r['iter'] for r in records] == [1, 2, 4]  # the starting point, then every 2 iterations
    layers = records[-1]['layers']
    assert len(layers['gate_score_mean']) == 4 and len(layers['entropy_mean']) == 4
    assert 0 < layers['gate_score_mean'][0] < 1
    assert records[-1]['num_images'] == 2
    # the 32x48 image is resized to the first one's 32x32: 2 images x 2x2 patches
    assert all(sum(c) == 2 * 4 for c in records[-1]['norm_histogram']['counts'])
    assert log.count('sink stats (iter') == 3 and 'gate_score_mean' in log
    # outlier statistics: per layer in the record, their layer mean in the log line
    assert all(len(layers[k]) == 4 for k in ('kurtosis', 'block_max_abs', 'mlp_max_abs', 'rel_high_norm_fraction'))
    assert records[-1]['norm_ratio'] == 4.0 and 'kurtosis' in log and 'mlp_max_abs' in log
    assert runner.message_hub.get_info('sink_stats')['iter'] == 4
    with open(osp.join(runner.log_dir, 'vis_data', 'scalars.json')) as f:
        scalars = [json.loads(line) for line in f if 'sink/entropy_mean' in line]
    assert [s['step'] for s in scalars] == [1, 2, 4]
    assert runner.model.training  # the probe pass gives the model back in training mode


def test_records_every_n_epochs_on_a_fixed_batch(tmp_path):
    hook = dict(type='SinkStatsHook', interval=2, by_epoch=True, num_images=1, img_size=16, record_first=False)
    _, records, _ = run(tmp_path, hook, max_epochs=4)
    assert [r['epoch'] for r in records] == [2, 4]
    assert [sum(c) for c in records[0]['norm_histogram']['counts']] == [1] * 4  # 16 px: one patch
    assert records[0]['layers']['relative_distance'] == [None] * 4  # no other patch to attend to


def test_bad_arguments_are_named():
    assert HOOKS.get('SinkStatsHook') is SinkStatsHook
    with pytest.raises(ValueError, match='interval=0'):
        SinkStatsHook(interval=0)
    with pytest.raises(ValueError, match='img_size'):
        SinkStatsHook(img_size=-3)
    with pytest.raises(ValueError, match='norm_ratio'):
        SinkStatsHook(norm_ratio=0)


def test_plot_over_epochs_from_the_hooks_records(tmp_path):
    """tools/plot_sink_stats.py on the jsonl a real run wrote: series equal the records, PNG of the stated size."""
    from mmedit_vit.apis import plot_sink_stats as tool

    hook = dict(type='SinkStatsHook', interval=2, by_epoch=True, num_images=2)
    _, records, _ = run(tmp_path, hook, max_epochs=4)
    assert [(r['iter'], r['epoch']) for r in records] == [(1, 0), (4, 2), (8, 4)]  # start, every 2 epochs
    result = tool.main([osp.join(tmp_path, 'sink_stats.jsonl')])
    series = result['series']
    assert series['x_name'] == 'epoch' and series['x'] == [0, 2, 4]
    for metric in ('norm_median', 'norm_p90', 'norm_p99', 'norm_max', 'high_norm_count', 'gate_score_mean'):
        assert len(series['metrics'][metric]) == 4  # layers
        for layer in range(4):
            assert series['metrics'][metric][layer] == [r['layers'][metric][layer] for r in records]
    # the percentiles are those of the patch-token norms: ordered, gate scores sigmoid values
    for r in records:
        layers = r['layers']
        for i in range(4):
            assert layers['norm_median'][i] <= layers['norm_p90'][i] <= layers['norm_p99'][i] <= layers['norm_max'][i]
            assert 0 < layers['gate_score_mean'][i] < 1
    assert result['out'] == osp.join(str(tmp_path), 'sink_stats.png')
    panels = [m for m in OVER_TRAINING if m in series['metrics']]
    rows, cols = -(-len(panels) // 3), 3
    expected = (int(PANEL[0] * cols * 100), int(PANEL[1] * rows * 100))
    assert result['size'] == expected
    with Image.open(result['out']) as png:
        assert png.size == expected and np.asarray(png.convert('L')).std() > 0  # something is drawn
    assert sink_stats_series(records, x='iter')['x'] == [1, 4, 8]
    with pytest.raises(ValueError, match="x='step'"):
        sink_stats_series(records, x='step')


def test_sink_stats_reader_names_bad_lines(tmp_path):
    path = tmp_path / 'sink_stats.jsonl'
    path.write_text('{"iter": 1, "epoch": 0, "layers": {}}\n{"iter": 2}\n')
    with pytest.raises(ValueError, match=r"sink_stats.jsonl:2 .*missing \['epoch', 'layers'\]"):
        read_sink_stats(str(path))
    path.write_text('not json\n')
    with pytest.raises(ValueError, match=r'sink_stats.jsonl:1 is not a JSON line'):
        read_sink_stats(str(path))
