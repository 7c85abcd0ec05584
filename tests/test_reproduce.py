"""tools/reproduce.py: every table's runs and commands, the papers' batch on fewer GPUs, run -> collect."""
import copy
import csv
import glob
import json
import os
import os.path as osp
import statistics
import sys
import warnings

import pytest
from mmengine.config import Config

from mmedit_vit.apis.cfg_options import parse_option_value
from mmedit_vit.apis.run_config import load_run_config
from mmedit_vit.datasets import make_synthetic_ade20k
from mmedit_vit.reproduce import TABLES, Plan, build_table, collect, dry_run, iteration_scaling_options, train_run
from seg_helpers import ROOT, run_tool

ALL_IDS = ['edit-table1', 'edit-table2', 'edit-table5', 'cb-table6', 'cb-table7', 'cb-table8', 'cb-table9',
           'gated-exp1', 'gated-exp2', 'gated-exp3', 'gated-exp4', 'ade20k-c', 'coco-c', 'imagenet-c', 'vitdet']
CORRUPTION_IDS = ['ade20k-c', 'coco-c', 'imagenet-c']


def test_every_table_of_the_issue_is_listed():
    proc = run_tool(['tools/reproduce.py', '--list'])
    assert proc.returncode == 0, proc.stderr
    listed = [line.split()[0] for line in proc.stdout.splitlines()]
    assert set(ALL_IDS) <= set(listed) and set(listed) == set(TABLES)


@pytest.mark.parametrize('table_id', ALL_IDS)
def test_every_run_names_an_existing_config_and_fills_a_cell(table_id):
    table = build_table(table_id, 2)
    assert table.runs
    for run in table.runs:
        assert osp.isfile(osp.join(ROOT, run.config)), run.config
        for cell, _, _ in run.reads:
            assert cell[0] in table.rows and cell[1] in table.columns
    assert len({r.key() for r in table.runs}) == len(table.runs)  # each command once
    filled = {cell for r in table.runs for cell, _, _ in r.reads}
    assert set(table.paper) <= filled  # every number of the paper has its runs
    if table_id in CORRUPTION_IDS:  # the CE relative to DeiT-III: no such run of DeiT-III itself
        relative = 'mCE (DeiT-III = 100)' if table_id == 'imagenet-c' else 'mCE'  # ImageNet-C: mCE is AlexNet's
        assert filled == {(r, c) for r in table.rows for c in table.columns
                          if not (c == relative and r.endswith('DeiT-III'))}
    elif table_id != 'edit-table2':  # (Table 4's transfer is of the Base models only)
        assert filled == {(r, c) for r in table.rows for c in table.columns}
    for (row, col), value in table.paper.items():
        assert row in table.rows and col in table.columns


# The papers' tables as printed (/work/shared/papers: the EDIT paper's Tables 1, 3, 4 and 5, the CB paper's
# Tables 6-9), typed from the papers, not from mmedit_vit.analysis.paper_tables: row -> the columns' values.
PRINTED = {
    'edit-table1': (('Params (M)', 'FLOPs (G)'), {  # EDIT Table 1: 5.82M 1.42G, ...
        'EDIT-T': (5.82, 1.42), 'EDIT-S': (22.30, 5.28), 'EDIT-B': (87.76, 20.27)}),
    'edit-table2': (('ImageNet-1k', '21k->1k', '21k->1k @384', 'CIFAR-10', 'CIFAR-100', 'Flowers-102', 'DTD',
                     'Caltech-256'), {  # EDIT Table 3 (a), (b) at 224 and 384; Table 4 (Base only)
        'DeiT3-T': (73.6, None, None, None, None, None, None, None),
        'DeiT3-S': (81.3, 83.1, 84.6, None, None, None, None, None),
        'DeiT3-B': (83.6, 85.1, 86.1, 99.3, 92.5, 98.6, 81.5, 94.1),
        'EDIT-T': (75.5, None, None, None, None, None, None, None),
        'EDIT-S': (81.8, 83.5, 84.8, None, None, None, None, None),
        'EDIT-B': (83.7, 85.4, 86.3, 99.3, 93.0, 98.9, 81.4, 94.2)}),
    'edit-table5': (('single-scale mIoU', 'multi-scale mIoU'), {  # EDIT Table 5
        'Seg-S DeiT3': (45.2, 46.7), 'Seg-B DeiT3': (49.0, 50.8), 'Seg-S EDIT': (47.2, 47.8),
        'Seg-B EDIT': (49.9, 51.5)}),
    'cb-table6': (('40K mIoU', '160K mIoU'), {  # CB Table 6 (the CB_s rows are not rebuilt)
        'ViT-Ti': (35.5, 38.9), 'ViT-Ti + CB': (36.5, 39.0), 'ViT-S': (41.5, 43.3), 'ViT-S + CB': (41.9, 43.9),
        'ViT-B': (44.3, 45.0), 'ViT-B + CB': (45.1, 45.6)}),
    'cb-table7': (('AP^b', 'AP^b_50', 'AP^b_75', 'AP^m', 'AP^m_50', 'AP^m_75'), {  # CB Table 7
        'ViT-Ti': (34.8, 57.4, 36.5, 32.5, 54.3, 33.7), 'ViT-Ti + CB': (35.1, 57.9, 36.8, 32.8, 54.4, 34.2)}),
    'cb-table8': (('Occ', 'ImageNet-A', 'FGSM'), {  # CB Table 8 (the CB_s row is not rebuilt)
        'ViT-S': (73.0, 19.0, 27.2), 'ViT-S + CB': (74.0, 21.2, 32.3)}),
    'cb-table9': (('ViT-S', 'CB'), {  # CB Table 9 (noise rows: the mean of five runs)
        'Nothing': (43.3, 43.9), 'Shot Noise': (40.22, 41.09), 'Gaussian Noise (sigma=5)': (42.55, 43.44),
        'Gaussian Noise (sigma=10)': (40.22, 41.07), 'Gaussian Blur (sigma=1)': (42.29, 43.26),
        'Gaussian Blur (sigma=2)': (40.83, 41.44)}),
}


@pytest.mark.parametrize('table_id', sorted(PRINTED))
def test_paper_numbers_are_the_papers(table_id):
    columns, rows = PRINTED[table_id]
    printed = {(row, column): value for row, values in rows.items() for column, value in zip(columns, values)
               if value is not None}
    assert build_table(table_id).paper == printed


def test_the_gated_experiments_have_no_paper_numbers():
    """The gated-attention proposal reports no numbers: its tables are filled by the runs alone. Neither does
    the ViTDet table: the paper's detectors start from MAE, these from the variants' supervised checkpoints."""
    for table_id in ('gated-exp1', 'gated-exp2', 'gated-exp3', 'gated-exp4', 'vitdet'):
        assert build_table(table_id).paper == {}


def test_seeds_and_pretraining_order():
    table = build_table('edit-table5', 3)
    trains = [r for r in table.runs if r.kind == 'train' and r.config.startswith('configs/segmenter_edit_b')]
    assert [r.seed for r in trains] == [0, 1, 2]
    first_use = table.runs.index(trains[0])
    copies = [i for i, r in enumerate(table.runs) if r.kind == 'copy' and r.target == 'pretrain/cls_edit_b_in1k.pth']
    assert len(copies) == 1 and copies[0] < first_use  # pretraining once, before the first run that needs it
    pre = table.runs[copies[0]].train
    assert pre.config == 'configs/cls_edit_b_in1k.py' and table.runs.index(pre) < copies[0]
    assert all('model.backbone.init_cfg.checkpoint=pretrain/cls_edit_b_in1k.pth' in r.options for r in trains)
    assert len(build_table('cb-table9').runs) == len(build_table('cb-table9', 5).runs)  # 5 noise seeds by default


def commands(table_id: str, **plan) -> list:
    return dry_run(build_table(table_id, 1), Plan(work_root='/tmp/nowhere', **plan))[2:]


@pytest.mark.parametrize('gpus,factor', [(1, 8)] + [pytest.param(g, f, marks=pytest.mark.slow)
                                                     for g, f in ((2, 4), (4, 2), (8, 1))])
def test_segmentation_keeps_the_per_gpu_batch_and_stretches_the_iterations(gpus, factor):
    lines = commands('cb-table6', gpus=gpus, launcher='none' if gpus == 1 else 'pytorch')
    uper = [c for c in lines if ('tools/train.py' in c or 'dist_train' in c) and 'upernet_cb_s_ade20k.py' in c]
    assert len(uper) == 1
    assert 'train_dataloader.batch_size' not in uper[0]  # configs: 2 images per GPU, sized to fit a GPU
    if factor == 1:
        assert 'accumulative_counts' not in uper[0] and 'train_cfg.max_iters' not in uper[0]
    else:
        assert f'optim_wrapper.accumulative_counts={factor} ' in uper[0]
        assert f'train_cfg.max_iters={160000 * factor} ' in uper[0]
    test = [c for c in lines if 'test' in c.split()[1] and 'upernet_cb_s_ade20k.py' in c]
    assert len(test) == 1 and f'/iter_{160000 * factor}.pth ' in test[0]  # the checkpoint the run ends with
    head = ['python'] if gpus == 1 else ['bash tools/dist_train.sh configs/upernet_cb_s_ade20k.py', f' {gpus} ']
    assert all(h in uper[0] for h in head)


@pytest.mark.parametrize('gpus,counts', [(1, 16), (2, 8), (4, 4), (8, None)])
def test_classification_keeps_the_total_batch_by_accumulation(gpus, counts):
    lines = commands('edit-table2', gpus=gpus, launcher='slurm', partition='p1')
    base = [c for c in lines if 'tools/slurm_train.sh p1' in c and 'configs/cls_edit_b_in1k.py' in c][0]
    assert f'GPUS={gpus}' in base
    if counts is None:
        assert 'accumulative_counts' not in base
    else:
        assert f'optim_wrapper.accumulative_counts={counts}' in base  # the B config accumulates 2 at 8 GPUs


def test_more_than_eight_gpus_split_the_per_gpu_batch():
    """16 GPUs keep the papers' total batch: half the images per GPU, the same iterations and accumulation."""
    lines = commands('cb-table6', gpus=16)
    uper = [c for c in lines if 'dist_train' in c and 'upernet_cb_s_ade20k.py' in c][0]
    assert ' 16 ' in uper and 'train_dataloader.batch_size=1' in uper  # 2 per GPU x 8 = 1 per GPU x 16
    assert 'accumulative_counts' not in uper and 'train_cfg.max_iters' not in uper
    cls = [c for c in commands('edit-table2', gpus=16) if 'dist_train' in c and 'configs/cls_edit_b_in1k.py' in c][0]
    batch = Config.fromfile(osp.join(ROOT, 'configs/cls_edit_b_in1k.py')).train_dataloader.batch_size
    assert f'train_dataloader.batch_size={batch // 2}' in cls
    assert Plan(gpus=16).batch_note(build_table('cb-table6', 1)) == 'total batch kept, per-GPU batch / 2'
    with pytest.raises(ValueError, match=r'^configs/cls_\w+.py: train_dataloader.batch_size=128 .* 3x'):
        Plan(gpus=24).check(build_table('cb-table6', 1))  # the ImageNet pretraining (128 per GPU) comes first
    for gpus in (3, 12, 20, 0):  # the papers' 8 GPUs neither split evenly nor taken a whole number of times
        with pytest.raises(ValueError, match=f'gpus={gpus}: use 1, 2, 4, 8 or a multiple of 8'):
            Plan(gpus=gpus)


def test_a_plan_that_cannot_run_stops_before_the_first_run_in_one_line():
    proc = run_tool(['tools/reproduce.py', 'vitdet', '--gpus', '24', '--dry-run'])
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        'configs/cls_deit3_s_in1k.py: train_dataloader.batch_size=256 per GPU cannot be split over 3x the GPUs '
        'keeping the total batch; use --gpus 8d for a divisor d of 256, or keep the per-GPU batch with --auto-scale-lr']


def test_training_runs_continue_from_their_last_checkpoint():
    """A stopped reproduction starts each unfinished training run with --resume (fresh when it has no checkpoint)."""
    lines = commands('cb-table6', gpus=1, launcher='none')
    train = [c for c in lines if 'tools/train.py' in c]
    assert train and all(' --resume' in c for c in train)
    assert not any('--resume' in c for c in lines if 'tools/test.py' in c)


def test_auto_scale_lr_keeps_the_per_gpu_batch():
    line = [c for c in commands('cb-table7', gpus=2, auto_scale_lr=True) if 'dist_train' in c][-1]
    assert '--auto-scale-lr' in line and 'accumulative_counts' not in line
    uper = Plan(gpus=2, auto_scale_lr=True)
    train = train_run('configs/upernet_cb_s_ade20k.py', 0)
    assert uper.batch_options(train) == [] and uper.final_checkpoint(train).endswith('/iter_160000.pth')
    assert uper.batch_note(build_table('cb-table6', 1)) == 'per-GPU batch kept, lr scaled to the total batch ' \
        '(--auto-scale-lr)'


def test_the_listing_head_says_how_the_batch_is_kept():
    table = build_table('cb-table6', 1)
    assert Plan(gpus=2).batch_note(table) == 'per-GPU batch kept, gradients accumulated x4, iterations x4 ' \
        '(iteration-based runs)'
    assert Plan(gpus=8).batch_note(table) == ''
    classification = build_table('cb-table8', 1)  # epoch-based runs only: accumulation, the same epochs
    assert Plan(gpus=4).batch_note(classification) == 'per-GPU batch kept, gradients accumulated x2'


def scaled_config(config: str, gpus: int, cfg_options: tuple = ()):
    """``config`` as tools/train.py builds it from the reproduction's --cfg-options on ``gpus`` GPUs."""
    plan = Plan(gpus=gpus, launcher='none' if gpus == 1 else 'pytorch', cfg_options=cfg_options)
    options = list(cfg_options) + plan.batch_options(train_run(config, 0))
    parsed = {key: parse_option_value(value) for key, value in (o.split('=', 1) for o in options)}
    return load_run_config(osp.join(ROOT, config), cfg_options=parsed), plan


def test_vitdet_on_one_gpu_makes_eight_times_the_iterations_of_the_same_batch():
    cfg, plan = scaled_config('configs/vitdet_maskrcnn_edit_b_coco.py', 1)
    assert cfg.train_dataloader.batch_size == 8 and cfg.optim_wrapper.accumulative_counts == 8
    assert cfg.train_cfg.max_iters == 184375 * 8 == 1475000
    assert cfg.train_cfg.val_interval == 5000 * 8
    assert [tuple(p) for p in cfg.train_cfg.dynamic_intervals] == [(180001 * 8, 184375 * 8)]
    warmup, steps = cfg.param_scheduler
    assert (warmup.type, warmup.begin, warmup.end, warmup.start_factor) == ('LinearLR', 7, 250 * 8, 0.001)
    assert (steps.type, steps.begin, steps.end) == ('MultiStepLR', 7, 1475000)
    assert list(steps.milestones) == [163889 * 8, 177546 * 8] == [1311112, 1420368]
    assert cfg.default_hooks.checkpoint.interval == 40000 and cfg.default_hooks.logger.interval == 400
    assert cfg.log_processor.window_size == 400
    assert plan.final_checkpoint(train_run('configs/vitdet_maskrcnn_edit_b_coco.py', 0)).endswith('/iter_1475000.pth')


def test_upernet_on_two_gpus_makes_four_times_the_iterations_of_the_same_batch():
    cfg, _ = scaled_config('configs/upernet_cb_s_ade20k.py', 2)
    assert cfg.train_dataloader.batch_size == 2 and cfg.optim_wrapper.accumulative_counts == 4
    assert cfg.train_cfg.max_iters == 640000 and cfg.train_cfg.val_interval == 64000
    warmup, poly = cfg.param_scheduler
    assert (warmup.type, warmup.begin, warmup.end) == ('LinearLR', 3, 6000)
    assert (poly.type, poly.begin, poly.end) == ('PolyLR', 1500 * 4 + 3, 640000)
    assert cfg.default_hooks.checkpoint.interval == 64000 and cfg.default_hooks.logger.interval == 200


def values_at_optimizer_steps(schedulers: list, iterations: int, accumulate: int, name: str = 'lr') -> list:
    """The ``name`` value of a toy optimizer at each optimizer step of ``iterations`` iterations that
    accumulate ``accumulate`` backwards per step (mmengine's OptimWrapper steps on the iterations where the
    count of backwards is a multiple), the schedulers stepped after every iteration (ParamSchedulerHook)."""
    import mmengine.optim  # noqa: F401  (registers the schedulers)
    import torch
    from mmengine.registry import PARAM_SCHEDULERS
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
    built = [PARAM_SCHEDULERS.build(dict(copy.deepcopy(s), optimizer=optimizer)) for s in schedulers]
    seen = []
    with warnings.catch_warnings():  # accumulating, the schedulers step before the optimizer's first step
        warnings.filterwarnings('ignore', 'Detected call of `scheduler.step()` before')
        for iteration in range(iterations):
            if (iteration + 1) % accumulate == 0:
                seen.append(optimizer.param_groups[0][name])
                optimizer.step()
            for scheduler in built:
                scheduler.step()
    return seen


# the configs' schedules, shortened by the user's --cfg-options (the stretching reads them)
SHORT = {'configs/vitdet_maskrcnn_edit_b_coco.py': ('train_cfg.max_iters=400', 'param_scheduler.1.end=400',
                                                    'param_scheduler.1.milestones=[300,350]'),
         'configs/upernet_cb_s_ade20k.py': ('train_cfg.max_iters=2000', 'param_scheduler.1.end=2000')}


@pytest.mark.parametrize('config,gpus', [('configs/vitdet_maskrcnn_edit_b_coco.py', 1),
                                         ('configs/upernet_cb_s_ade20k.py', 2)])
def test_each_optimizer_step_sees_the_original_learning_rate(config, gpus):
    original, _ = scaled_config(config, 8, SHORT[config])
    scaled, _ = scaled_config(config, gpus, SHORT[config])
    factor = 8 // gpus
    assert scaled.train_cfg.max_iters == original.train_cfg.max_iters * factor
    before = values_at_optimizer_steps(original.param_scheduler, original.train_cfg.max_iters, 1)
    after = values_at_optimizer_steps(scaled.param_scheduler, scaled.train_cfg.max_iters, factor)
    assert len(after) == len(before) == original.train_cfg.max_iters  # the same optimizer steps
    assert after == pytest.approx(before, rel=1e-9, abs=1e-15)
    start = original.param_scheduler[0].start_factor
    assert after[0] == pytest.approx(0.1 * start, rel=1e-9)  # step 1: the first warm-up value
    assert after[0] < after[100] < after[240] < 0.1  # in the warm-up
    if 'vitdet' in config:  # past the milestones 300 and 350 of the shortened schedule
        assert after[300] == pytest.approx(0.01) and after[350] == pytest.approx(0.001)
        assert after[299] == pytest.approx(0.1)
    else:  # linear decay from 1500 to 2000
        assert after[1500] == pytest.approx(0.1) and after[1750] == pytest.approx(0.1 * 249 / 499)


@pytest.mark.slow
@pytest.mark.parametrize('config,gpus', [('configs/vitdet_maskrcnn_edit_b_coco.py', 1),
                                         ('configs/upernet_cb_s_ade20k.py', 2)])
def test_each_optimizer_step_sees_the_original_learning_rate_over_the_whole_schedule(config, gpus):
    original, _ = scaled_config(config, 8)
    scaled, _ = scaled_config(config, gpus)
    before = values_at_optimizer_steps(original.param_scheduler, original.train_cfg.max_iters, 1)
    after = values_at_optimizer_steps(scaled.param_scheduler, scaled.train_cfg.max_iters, 8 // gpus)
    assert len(after) == len(before) and after == pytest.approx(before, rel=1e-9, abs=1e-15)



@pytest.mark.slow
def test_mmengine_runner_steps_the_optimizer_with_the_original_learning_rates(tmp_path):
    """The stretched schedule in mmengine's Runner itself (OptimWrapper accumulation, ParamSchedulerHook):
    the learning rate of every optimizer.step() call is the original run's."""
    import torch
    from mmengine.hooks import Hook
    from mmengine.model import BaseModel
    from mmengine.runner import Runner
    from torch.utils.data import DataLoader

    class Toy(BaseModel):
        def __init__(self) -> None:
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(1))

        def forward(self, x, mode='loss'):
            return dict(loss=(self.w * x).sum())

    class StepLRs(Hook):
        def __init__(self) -> None:
            self.lrs = []

        def before_train(self, runner) -> None:
            optimizer = runner.optim_wrapper.optimizer
            step = optimizer.step

            def recorded(*args, **kwargs):
                self.lrs.append(optimizer.param_groups[0]['lr'])
                return step(*args, **kwargs)
            optimizer.step = recorded

    def step_lrs(cfg: Config, name: str) -> list:
        hook = StepLRs()
        Runner(model=Toy(), work_dir=str(tmp_path / name), experiment_name=name,
               train_dataloader=DataLoader([dict(x=torch.ones(1))] * 80, batch_size=1),  # 80: no 2-s restart
               train_cfg=dict(cfg.train_cfg), optim_wrapper=dict(cfg.optim_wrapper),
               param_scheduler=[dict(s) for s in cfg.param_scheduler], custom_hooks=[hook],
               default_hooks=dict(checkpoint=None, logger=dict(type='LoggerHook', interval=1000))).train()
        return hook.lrs

    schedule = dict(train_cfg=dict(type='IterBasedTrainLoop', max_iters=20, val_interval=1000),
                    optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
                    param_scheduler=[dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=10),
                                     dict(type='MultiStepLR', milestones=[15, 18], gamma=0.1, by_epoch=False,
                                          begin=0, end=20)])
    before = step_lrs(Config(copy.deepcopy(schedule)), 'original')
    stretched = Config(copy.deepcopy(schedule))
    options = iteration_scaling_options(stretched, 4)
    stretched.merge_from_dict({k: parse_option_value(v) for k, v in (o.split('=', 1) for o in options)})
    after = step_lrs(stretched, 'stretched')
    assert before[:2] == pytest.approx([0.001, 0.012]) and before[-1] == pytest.approx(0.001)  # 0.1 x 0.01
    assert len(after) == len(before) == 20 and after == pytest.approx(before, rel=1e-9)


SCHEDULES = {
    'warm-up, step': [dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=20),
                      dict(type='StepLR', step_size=15, gamma=0.5, by_epoch=False, begin=20, end=100)],
    'constant, cosine': [dict(type='ConstantLR', factor=0.5, by_epoch=False, begin=0, end=10),
                         dict(type='CosineAnnealingLR', eta_min=0.001, by_epoch=False, begin=10, end=100)],
    'cosine restarts': [dict(type='CosineRestartLR', periods=[30, 70], restart_weights=[1, 0.5], eta_min=0.01,
                             by_epoch=False, begin=0, end=100)],
    'exponential': [dict(type='ExponentialLR', gamma=0.97, by_epoch=False, begin=5, end=80)],
    'poly, momentum': [dict(type='PolyLR', power=0.9, eta_min=1e-3, by_epoch=False, begin=0, end=100),
                       dict(type='CosineAnnealingMomentum', T_max=50, eta_min=0.85, by_epoch=False, begin=0,
                            end=100)],
}


@pytest.mark.parametrize('factor', [2, 8])
@pytest.mark.parametrize('name', sorted(SCHEDULES))
def test_every_scheduler_kind_is_stretched_exactly(name, factor):
    cfg = Config(dict(train_cfg=dict(type='IterBasedTrainLoop', max_iters=100, val_interval=50),
                      optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)), param_scheduler=SCHEDULES[name]))
    options = iteration_scaling_options(cfg, factor)
    cfg.merge_from_dict({k: parse_option_value(v) for k, v in (o.split('=', 1) for o in options)})
    assert cfg.train_cfg.max_iters == 100 * factor and cfg.train_cfg.val_interval == 50 * factor
    assert cfg.optim_wrapper.accumulative_counts == factor
    for value in ('lr', 'momentum'):
        before = values_at_optimizer_steps(SCHEDULES[name], 100, 1, value)
        after = values_at_optimizer_steps(cfg.param_scheduler, 100 * factor, factor, value)
        assert len(set(before)) > 1 or value == 'momentum'  # the schedule changes the value
        assert after == pytest.approx(before, rel=1e-9, abs=1e-15), value


def test_schedules_that_cannot_be_stretched_are_named():
    cfg = Config(dict(train_cfg=dict(max_iters=100), optim_wrapper=dict(),
                      param_scheduler=[dict(type='OneCycleLR', eta_max=0.1, by_epoch=False, begin=0, end=100)]))
    with pytest.raises(ValueError, match=r'param_scheduler.0: OneCycleLR .* supported: LinearLR'):
        iteration_scaling_options(cfg, 2)
    cfg.param_scheduler[0].by_epoch = True  # not stepped per iteration: left as it is
    assert iteration_scaling_options(cfg, 2) == ['optim_wrapper.accumulative_counts=2', 'train_cfg.max_iters=200']
    with pytest.raises(ValueError, match='not an iteration-based config'):
        iteration_scaling_options(Config(dict(train_cfg=dict(max_epochs=3))), 2)


def test_bad_arguments_name_what_is_allowed():
    with pytest.raises(ValueError, match='cb-table6'):
        build_table('cb-table66')
    with pytest.raises(ValueError, match='gpus=3'):
        Plan(gpus=3)
    with pytest.raises(ValueError, match='launcher none runs one process'):
        Plan(gpus=2, launcher='none')


def write_metrics(test_dir: str, metrics: dict, stamp: str = '20260101_000000') -> None:
    os.makedirs(osp.join(test_dir, stamp))
    with open(osp.join(test_dir, stamp, f'{stamp}.json'), 'w') as f:
        json.dump(metrics, f)


def test_collect_gives_mean_std_and_missing_runs(tmp_path):
    table = build_table('cb-table7', 2)
    plan = Plan(work_root=str(tmp_path), launcher='pytorch')
    tests = [r for r in table.runs if r.kind == 'test']
    assert all(len(r.reads) == 6 for r in tests)  # one test run fills the six AP columns
    values = {(r.cell, r.seed): 0.30 + 0.01 * r.seed + (0.05 if 'CB' in r.cell[0] else 0) for r in tests}
    for run in tests:
        if run.cell[0] == 'ViT-Ti + CB' and run.seed == 1:
            continue  # a missing run
        metrics = {key: 0.1 for key in ('coco/bbox_mAP_50', 'coco/bbox_mAP_75', 'coco/segm_mAP', 'coco/segm_mAP_50',
                                        'coco/segm_mAP_75')}
        write_metrics(plan.work_dir(run), dict(metrics, **{'coco/bbox_mAP': values[(run.cell, run.seed)]}))
    result = collect(table, plan)
    vit = result['cells'][('ViT-Ti', 'AP^b')]
    assert vit['n'] == 2 and vit['mean'] == pytest.approx(30.5) and vit['std'] == pytest.approx(
        statistics.stdev([30.0, 31.0]))
    assert result['cells'][('ViT-Ti + CB', 'AP^b')]['n'] == 1
    assert result['cells'][('ViT-Ti', 'AP^m')]['mean'] == pytest.approx(10.0)
    assert len(result['missing']) == len(tests) - 3
    md = open(osp.join(tmp_path, 'cb-table7', 'table.md')).read()
    assert '| ViT-Ti | 30.50 ± 0.71 (2) | 34.8 |' in md
    assert osp.getsize(osp.join(tmp_path, 'cb-table7', 'table.png')) > 1000
    rows = list(csv.DictReader(open(osp.join(tmp_path, 'cb-table7', 'table.csv'))))
    assert {(r['row'], r['column']) for r in rows} == {(r, c) for r in table.rows for c in table.columns}


def test_vitdet_table_every_variant_at_s_and_b_from_its_own_checkpoint():
    table = build_table('vitdet', 2)
    assert table.rows == [f'ViTDet-{s} {v}' for s in 'SB' for v in ('DeiT-III', 'EDIT', 'CB', 'gated', 'registers (4)')]
    trains = [r for r in table.runs if r.kind == 'train' and r.config.startswith('configs/vitdet_')]
    assert len(trains) == 20 and {r.seed for r in trains} == {0, 1}
    for train in trains:  # the variant's own ImageNet-1k checkpoint of the same size, copied before first use
        variant, size = train.stem.split('_')[2:4]
        target = f'pretrain/cls_{variant}_{size}_in1k.pth'
        assert train.options == (f'model.backbone.init_cfg.checkpoint={target}',)
        copy = [i for i, r in enumerate(table.runs) if r.kind == 'copy' and r.target == target]
        assert len(copy) == 1 and copy[0] < table.runs.index(train)
    complexity = [r for r in table.runs if r.kind == 'complexity']
    assert len(complexity) == 10 and all(len(r.reads) == 2 for r in complexity)  # params and FLOPs of each config
    lines = commands('vitdet', gpus=8)
    train = [c for c in lines if 'dist_train.sh configs/vitdet_maskrcnn_edit_b_coco.py 8' in c]
    assert len(train) == 1 and 'train_dataloader.batch_size' not in train[0]  # 8 x 8 = the paper's 64
    listing = dry_run(build_table('vitdet', 1), Plan(work_root='/tmp/nowhere', gpus=1, launcher='none'))
    assert 'per-GPU batch kept, gradients accumulated x8, iterations x8' in listing[1]
    one = [c for c in listing if 'vitdet_maskrcnn_edit_b_coco.py' in c and 'tools/train.py' in c]
    assert 'train_dataloader.batch_size' not in one[0]  # 8 images of 1024x1024 per GPU stay 8
    assert 'optim_wrapper.accumulative_counts=8 ' in one[0] and 'train_cfg.max_iters=1475000 ' in one[0]
    assert any('vitdet_maskrcnn_edit_b_coco_seed0_' in c and '/iter_1475000.pth ' in c
               for c in listing if 'tools/test.py' in c)
    assert any('tools/get_flops.py configs/vitdet_maskrcnn_cb_s_coco.py' in c for c in lines)


def test_vitdet_collect_reads_ap_and_complexity(tmp_path):
    table = build_table('vitdet', 1)
    plan = Plan(work_root=str(tmp_path), launcher='pytorch')
    for run in table.runs:
        if run.kind == 'test' and run.cell[0] == 'ViTDet-B EDIT':
            write_metrics(plan.work_dir(run), {key: 0.5 for _, key, _ in run.reads} | {'coco/bbox_mAP': 0.512})
        elif run.kind == 'complexity' and run.cell[0] == 'ViTDet-S CB':
            os.makedirs(plan.work_dir(run))
            with open(plan.output(run), 'w') as f:
                json.dump({'params': 43_000_000, 'flops': 190_000_000_000}, f)
    cells = collect(table, plan)['cells']
    assert cells[('ViTDet-B EDIT', 'AP^b')]['mean'] == pytest.approx(51.2)
    assert cells[('ViTDet-B EDIT', 'AP^m_75')]['mean'] == pytest.approx(50.0)
    assert cells[('ViTDet-S CB', 'Params (M)')]['mean'] == pytest.approx(43.0)
    assert cells[('ViTDet-S CB', 'FLOPs (G)')]['mean'] == pytest.approx(190.0)
    assert cells[('ViTDet-S EDIT', 'AP^b')]['n'] == 0
    md = open(osp.join(tmp_path, 'vitdet', 'table.md')).read()
    assert '| ViTDet-B EDIT | 51.20 ± 0.00 (1) | — | 50.00 ± 0.00 (1) | — |' in md


@pytest.mark.parametrize('table_id,rows,tests', [('ade20k-c', 10, 20), ('coco-c', 5, 10), ('imagenet-c', 5, 10)])
def test_corruption_tables_one_benchmark_run_per_model_and_seed(table_id, rows, tests):
    table = build_table(table_id, 2)
    runs = [r for r in table.runs if r.kind == 'test']
    assert len(table.rows) == rows and len(runs) == tests
    flags = ('--test-set', 'imagenet-c', '--corruptions', 'all') if table_id == 'imagenet-c' \
        else ('--corruptions', 'benchmark')  # ImageNet-C: the released images, comparable with published mCE
    assert all(r.flags == flags for r in runs)
    plan = Plan(work_root='w', launcher='none', gpus=1)
    for run in runs:  # every model but DeiT-III refers to DeiT-III of its head and seed
        command = plan.command(run)
        if 'DeiT-III' in run.cell[0]:
            assert '--ce-reference' not in command
        else:
            ref = command[command.index('--ce-reference') + 1]
            assert 'deit3' in ref and f'seed{run.seed}' in ref and ref.endswith(run.tag)


def test_corruption_table_collects_families_and_mce(tmp_path):
    table = build_table('coco-c', 2)
    plan = Plan(work_root=str(tmp_path), launcher='none', gpus=1)
    tests = [r for r in table.runs if r.kind == 'test']
    for run in tests:
        path = osp.join(tmp_path, osp.relpath(plan.output(run), str(tmp_path)))
        os.makedirs(osp.dirname(path), exist_ok=True)
        summary = dict(P=0.40 + 0.01 * run.seed, mPC=0.25, rPC=100 * 0.25 / (0.40 + 0.01 * run.seed), mCE=90.0,
                       families=dict(noise=0.1, blur=0.2, weather=0.3, digital=0.4))
        complete = not (run.cell[0].endswith('EDIT') and run.seed == 1)  # a run stopped part-way
        with open(path, 'w') as f:
            json.dump(dict(complete=complete, summary=summary), f)
        assert plan.done(run) == complete
    cells = collect(table, plan)['cells']
    assert table.columns == ['P', 'noise', 'blur', 'weather', 'digital', 'mPC', 'rPC', 'mCE']
    assert cells[('Mask R-CNN DeiT-III', 'P')]['mean'] == pytest.approx(40.5)
    assert cells[('Mask R-CNN DeiT-III', 'noise')]['mean'] == pytest.approx(10.0)
    assert cells[('Mask R-CNN DeiT-III', 'mPC')]['mean'] == pytest.approx(25.0)
    # ratios: not scaled to percent again
    assert cells[('Mask R-CNN DeiT-III', 'rPC')]['values'] == pytest.approx([100 * 25 / 40, 100 * 25 / 41])
    assert cells[('Mask R-CNN DeiT-III', 'mCE')]['n'] == 0
    assert cells[('Mask R-CNN CB', 'mCE')]['mean'] == pytest.approx(90.0)
    assert cells[('Mask R-CNN EDIT', 'rPC')]['n'] == 1


def test_imagenet_c_table_collects_alexnet_normalised_numbers(tmp_path):
    table = build_table('imagenet-c', 1)
    assert table.columns == ['clean', 'mCE', 'relative mCE', 'hold-out', 'mCE (DeiT-III = 100)']
    plan = Plan(work_root=str(tmp_path), launcher='none', gpus=1)
    for run in (r for r in table.runs if r.kind == 'test'):
        path = osp.join(tmp_path, osp.relpath(plan.output(run), str(tmp_path)))
        os.makedirs(osp.dirname(path), exist_ok=True)
        summary = dict(clean_error=20.0, alexnet=dict(mCE=55.0, relative_mCE=70.0), holdout_error=40.0, mCE=95.0)
        with open(path, 'w') as f:
            json.dump(dict(complete=True, summary=summary), f)
    cells = collect(table, plan)['cells']
    assert cells[('ViT-S EDIT', 'mCE')]['mean'] == pytest.approx(55.0)
    assert cells[('ViT-S EDIT', 'relative mCE')]['mean'] == pytest.approx(70.0)
    assert cells[('ViT-S EDIT', 'mCE (DeiT-III = 100)')]['mean'] == pytest.approx(95.0)
    assert cells[('ViT-S DeiT-III', 'mCE (DeiT-III = 100)')]['n'] == 0


def run_in_test_process(command: list, cwd: str, capture_output: bool = False, text: bool = True):
    """``subprocess.run`` for the plan's ``python tools/X.py ...`` commands: the same tool run in the test process
    (tests/tool_runner.py), its output passed on as the child's would be. The command lines themselves are checked
    by the dry runs."""
    assert command[0] == sys.executable and command[1].startswith('tools/'), command
    proc = run_tool(command[1:], cwd=cwd)
    if not capture_output:
        sys.stdout.write(proc.stdout)
        sys.stderr.write(proc.stderr)
    return proc


@pytest.mark.slow
def test_miniature_table_runs_resumes_and_collects_the_runs_own_numbers(tmp_path, monkeypatch):
    import types

    import mmedit_vit.reproduce.plan as plan_module
    monkeypatch.setattr(plan_module, 'subprocess', types.SimpleNamespace(run=run_in_test_process))
    data = make_synthetic_ade20k(str(tmp_path / 'ade'), num_train=8, num_val=2, size=(64, 80))
    options = ['train_cfg.max_iters=2', 'train_cfg.val_interval=100', 'default_hooks.checkpoint.interval=2',
               'train_dataloader.batch_size=2']
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options += [f'{split}.dataset.data_root={data}', f'{split}.num_workers=0', f'{split}.persistent_workers=False']
    base = ['tools/reproduce.py', 'demo', '--seeds', '2', '--gpus', '1', '--work-root', str(tmp_path / 'rep'),
            '--cfg-options'] + options
    proc = run_tool(base, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # the numbers the runs wrote themselves
    files = sorted(glob.glob(str(tmp_path / 'rep' / 'runs' / '*' / 'test' / '*' / '*.json')))
    assert len(files) == 4
    own = {}
    for path in files:
        run_dir = path.split(os.sep)[-4]
        # the DeiT-III row runs with an option (model.backbone.type=PlainViT): its work dir ends in their hash
        row = 'Segmenter-T EDIT' if run_dir.endswith(('_seed0', '_seed1')) else 'Segmenter-T DeiT-III'
        own.setdefault(row, []).append(json.load(open(path))['mIoU'])
    rows = {r['row']: r for r in csv.DictReader(open(tmp_path / 'rep' / 'demo' / 'table.csv'))}
    for row, values in own.items():
        assert len(values) == 2
        assert float(rows[row]['mean']) == pytest.approx(statistics.fmean(values), abs=1e-4)
        assert float(rows[row]['std']) == pytest.approx(statistics.stdev(values), abs=1e-4)
    # a second call finds every run done and runs nothing
    again = run_tool(base, timeout=600)
    assert again.returncode == 0 and again.stdout.count('done, skipped') == 8
    dry = run_tool(base[:2] + ['--dry-run'] + base[2:], timeout=300)
    assert sum(line.startswith('[done] ') for line in dry.stdout.splitlines()) == 8


def values_at_optimizer_steps_of_epochs(schedulers: list, epoch_length: int, epochs: int, accumulate: int) -> list:
    """The lr of a toy optimizer at each optimizer step of an epoch-based run, as mmengine's Runner builds and
    steps the schedulers: ``convert_to_iter_based`` ones built with ``build_iter_from_epoch(epoch_length)``;
    iteration-counted ones stepped after every iteration, epoch-counted ones after every epoch
    (``ParamSchedulerHook``); the optimizer stepped on every ``accumulate``-th iteration (``OptimWrapper``)."""
    import mmengine.optim  # noqa: F401  (registers the schedulers)
    import torch
    from mmengine.registry import PARAM_SCHEDULERS
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    built = []
    for scheduler in copy.deepcopy(schedulers):
        scheduler = dict(scheduler)
        if scheduler.pop('convert_to_iter_based', False):
            kind = PARAM_SCHEDULERS.get(scheduler.pop('type'))
            built.append(kind.build_iter_from_epoch(optimizer=optimizer, epoch_length=epoch_length, **scheduler))
        else:
            built.append(PARAM_SCHEDULERS.build(dict(scheduler, optimizer=optimizer)))
    seen = []
    with warnings.catch_warnings():  # accumulating, the schedulers step before the optimizer's first step
        warnings.filterwarnings('ignore', 'Detected call of `scheduler.step()` before')
        for epoch in range(epochs):
            for index in range(epoch_length):
                if (epoch * epoch_length + index + 1) % accumulate == 0:
                    seen.append(optimizer.param_groups[0]['lr'])
                    optimizer.step()
                for scheduler in built:
                    if not scheduler.by_epoch:
                        scheduler.step()
            for scheduler in built:
                if scheduler.by_epoch:
                    scheduler.step()
    return seen


@pytest.mark.parametrize('gpus', [1, 2, 4])
def test_epoch_based_detection_on_fewer_gpus_keeps_its_iteration_counted_warm_up(gpus):
    """maskrcnn_*: mmdet's LinearLR warm-up counts 500 iterations (by_epoch=False). On 8/a GPUs an epoch is a
    times the iterations; every optimizer step of the first 2 epochs has the 8-GPU run's lr, exactly."""
    config, factor, length = 'configs/maskrcnn_edit_t_coco.py', 8 // gpus, 400  # 8-GPU iterations per epoch
    original, _ = scaled_config(config, 8)
    scaled, plan = scaled_config(config, gpus)
    warmup, steps = scaled.param_scheduler
    assert scaled.optim_wrapper.accumulative_counts == factor and scaled.train_cfg.max_epochs == 12
    assert (warmup.type, warmup.by_epoch, warmup.begin, warmup.end) == ('LinearLR', False, factor - 1, 500 * factor)
    assert (steps.type, steps.by_epoch, list(steps.milestones)) == ('MultiStepLR', True, [8, 11])  # epochs: kept
    before = values_at_optimizer_steps_of_epochs(original.param_scheduler, length, 2, 1)
    after = values_at_optimizer_steps_of_epochs(scaled.param_scheduler, length * factor, 2, factor)
    assert len(after) == len(before) == 2 * length
    assert after == pytest.approx(before, rel=1e-12, abs=1e-18)
    assert before[0] == pytest.approx(1e-4) and before[498] < 0.1 and before[499:] == [pytest.approx(0.1)] * 301
    assert 'iteration-counted warm-ups x%d (epoch-based runs)' % factor in plan.batch_note(build_table('cb-table7', 1))


@pytest.mark.parametrize('gpus', [1, 2, 4])
def test_epoch_based_classification_on_fewer_gpus_converts_its_schedule_from_the_longer_epoch(gpus):
    """cls_*: the warm-up and cosine are converted from epochs (convert_to_iter_based), built from the loader's
    length, which is a times the 8-GPU one: nothing to stretch; each optimizer step's lr is the 8-GPU run's, at
    most one optimizer step ahead (iteration s*a - 1 of an a times longer schedule against s - 1)."""
    config, factor, length = 'configs/cls_deit3_s_in1k.py', 8 // gpus, 50
    original, _ = scaled_config(config, 8, ('param_scheduler.0.end=1', 'param_scheduler.1.begin=1'))
    scaled, _ = scaled_config(config, gpus, ('param_scheduler.0.end=1', 'param_scheduler.1.begin=1'))
    assert scaled.param_scheduler == original.param_scheduler  # nothing counted in iterations
    assert scaled.optim_wrapper.accumulative_counts == factor * original.optim_wrapper.get('accumulative_counts', 1)
    before = values_at_optimizer_steps_of_epochs(original.param_scheduler, length, 2, 1)
    after = values_at_optimizer_steps_of_epochs(scaled.param_scheduler, length * factor, 2, factor)
    assert len(after) == len(before) == 2 * length
    assert before[0] == pytest.approx(0.1 * 1e-3) and before[length] == pytest.approx(0.1)  # warm-up, cosine
    for step in range(2 * length - 1):  # between the 8-GPU lr of this step and of the next
        low, high = sorted((before[step], before[step + 1]))
        assert low * (1 - 1e-12) <= after[step] <= high * (1 + 1e-12), step
    assert after[length] == pytest.approx(0.1, rel=1e-6)  # the cosine's top, a fraction of a step later
