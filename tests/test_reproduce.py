"""tools/reproduce.py: every table's runs and commands, the papers' batch on fewer GPUs, run -> collect."""
import csv
import glob
import json
import os
import os.path as osp
import statistics

import pytest

from mmedit_vit.datasets import make_synthetic_ade20k
from mmedit_vit.reproduce import TABLES, Plan, build_table, collect, dry_run
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
    if table_id in CORRUPTION_IDS:  # mCE is relative to DeiT-III: no mCE run of DeiT-III itself
        assert filled == {(r, c) for r in table.rows for c in table.columns
                          if not (c == 'mCE' and r.endswith('DeiT-III'))}
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


@pytest.mark.parametrize('gpus,batch', [(1, 16)] + [pytest.param(g, b, marks=pytest.mark.slow)
                                                    for g, b in ((2, 8), (4, 4), (8, 2))])
def test_segmentation_keeps_the_total_batch_with_a_larger_per_gpu_batch(gpus, batch):
    lines = commands('cb-table6', gpus=gpus, launcher='none' if gpus == 1 else 'pytorch')
    uper = [c for c in lines if ('tools/train.py' in c or 'dist_train' in c) and 'upernet_cb_s_ade20k.py' in c]
    assert len(uper) == 1
    if gpus == 8:
        assert 'train_dataloader.batch_size' not in uper[0]
    else:
        assert f'train_dataloader.batch_size={batch}' in uper[0]  # configs: 8 GPUs x 2 images
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


def test_training_runs_continue_from_their_last_checkpoint():
    """A stopped reproduction starts each unfinished training run with --resume (fresh when it has no checkpoint)."""
    lines = commands('cb-table6', gpus=1, launcher='none')
    train = [c for c in lines if 'tools/train.py' in c]
    assert train and all(' --resume' in c for c in train)
    assert not any('--resume' in c for c in lines if 'tools/test.py' in c)


def test_auto_scale_lr_keeps_the_per_gpu_batch():
    line = [c for c in commands('cb-table7', gpus=2, auto_scale_lr=True) if 'dist_train' in c][-1]
    assert '--auto-scale-lr' in line and 'accumulative_counts' not in line


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
    one = [c for c in commands('vitdet', gpus=1, launcher='none') if 'vitdet_maskrcnn_edit_b_coco.py' in c and
           'tools/train.py' in c]
    assert 'train_dataloader.batch_size=64' in one[0]  # iteration-based: the whole batch on one GPU
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
    assert all(r.flags == ('--corruptions', 'benchmark') for r in runs)
    plan = Plan(work_root='w', launcher='none', gpus=1)
    for run in runs:  # every model but DeiT-III refers to DeiT-III of its head and seed
        command = plan.command(run)
        if 'DeiT-III' in run.cell[0]:
            assert '--ce-reference' not in command
        else:
            ref = command[command.index('--ce-reference') + 1]
            assert 'deit3' in ref and f'seed{run.seed}' in ref and ref.endswith('test_corruptions')


def test_corruption_table_collects_families_and_mce(tmp_path):
    table = build_table('coco-c', 2)
    plan = Plan(work_root=str(tmp_path), launcher='none', gpus=1)
    tests = [r for r in table.runs if r.kind == 'test']
    for run in tests:
        path = osp.join(tmp_path, osp.relpath(plan.output(run), str(tmp_path)))
        os.makedirs(osp.dirname(path), exist_ok=True)
        summary = dict(clean=0.40 + 0.01 * run.seed, benchmark_mean=0.25, drop=0.15 + 0.01 * run.seed, mCE=90.0,
                       families=dict(noise=0.1, blur=0.2, weather=0.3, digital=0.4))
        complete = not (run.cell[0].endswith('EDIT') and run.seed == 1)  # a run stopped part-way
        with open(path, 'w') as f:
            json.dump(dict(complete=complete, summary=summary), f)
        assert plan.done(run) == complete
    cells = collect(table, plan)['cells']
    assert cells[('Mask R-CNN DeiT-III', 'clean')]['mean'] == pytest.approx(40.5)
    assert cells[('Mask R-CNN DeiT-III', 'noise')]['mean'] == pytest.approx(10.0)
    assert cells[('Mask R-CNN DeiT-III', 'mCE')]['n'] == 0
    assert cells[('Mask R-CNN CB', 'mCE')]['mean'] == pytest.approx(90.0)  # a ratio: not scaled to percent
    assert cells[('Mask R-CNN EDIT', 'drop')]['n'] == 1


@pytest.mark.slow
def test_miniature_table_runs_resumes_and_collects_the_runs_own_numbers(tmp_path):
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
