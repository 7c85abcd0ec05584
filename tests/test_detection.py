"""Mask R-CNN on COCO: every config builds, trains a step and infers; COCO metrics on the generated set;
backbones start strictly from classification / segmentation checkpoints."""
import copy
import functools
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmdet.evaluation import CocoMetric
from mmdet.registry import DATASETS, MODELS
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.model import revert_sync_batchnorm
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from conftest import ROOT, perturb_, slow_except
from mmedit_vit.apis import DatasetNotFoundError, check_data_roots
from mmedit_vit.converters import CheckpointMismatchError
from mmedit_vit.datasets import make_synthetic_coco
from mmedit_vit.datasets.synthetic_coco import CLASSES
from mmedit_vit.datasets.synthetic_coco import main as synthetic_coco_main
from mmedit_vit.models import PlainViT
from mmedit_vit.models.backbones import BACKBONE_VARIANTS

pytestmark = pytest.mark.usefixtures('one_thread')  # small models: one thread is fastest

VARIANTS = tuple(BACKBONE_VARIANTS)
SIZES = {'t': ('tiny', 192), 's': ('small', 384), 'b': ('base', 768)}
CONFIG_1X = {(v, s): osp.join(ROOT, 'configs', f'maskrcnn_{v}_{s}_coco.py') for v in VARIANTS for s in SIZES}
CONFIG_3X = {(v, s): osp.join(ROOT, 'configs', f'maskrcnn_{v}_{s}_coco_ms-3x.py') for v in VARIANTS for s in SIZES}
DEMO_CONFIG = osp.join(ROOT, 'configs', 'demo', 'maskrcnn_edit_t_synthetic_coco.py')
SMALL_WIDTH = 32
SMALL_ARCH = dict(embed_dims=SMALL_WIDTH, num_heads=2, depth=12)
BACKBONE_TYPES = {'deit3': 'PlainViT', 'reg4': 'PlainViT', 'gated': 'GatedViT', 'cb': 'CBViT', 'edit': 'EDITViT'}


@functools.lru_cache(maxsize=None)
def _parsed(path: str) -> Config:
    return Config.fromfile(path)


def load_config(path: str) -> Config:
    """A fresh copy of a parsed config (parsing the mmdet bases is the slow part)."""
    return copy.deepcopy(_parsed(path))


def shrink(cfg: Config) -> Config:
    """The same detector with a 32-wide backbone and no pretrained file, for CPU tests."""
    cfg = copy.deepcopy(cfg)
    cfg.model.backbone.arch = SMALL_ARCH
    cfg.model.backbone.init_cfg = None
    cfg.model.neck[0].embed_dim = SMALL_WIDTH
    cfg.model.neck[1].in_channels = [SMALL_WIDTH] * 4
    # smaller sampling budgets: the RoI heads dominate a CPU step at the full 512 RoIs / 1000 proposals
    cfg.model.train_cfg.rpn_proposal.update(nms_pre=200, max_per_img=100)
    cfg.model.train_cfg.rcnn.sampler.num = 64
    cfg.model.test_cfg.rpn.update(nms_pre=200, max_per_img=100)
    cfg.model.test_cfg.rcnn.max_per_img = 20
    return cfg


def small_pipeline(pipeline: list, side: int = 64) -> list:
    """The config's pipeline with its resize scales brought down to ``side`` pixels."""
    out = copy.deepcopy(pipeline)
    for step in out:
        if step['type'] == 'Resize':
            step['scale'] = (side, side)
        elif step['type'] == 'RandomResize':
            step['scale'] = [(side, side * 3 // 4), (side, side)]
        elif step['type'] == 'RandomChoiceResize':
            step['scales'] = [(side, side * 3 // 4), (side, side)]
        elif step['type'] == 'RandomCrop':
            step['crop_size'] = (side // 2, side)
        elif step['type'] == 'RandomChoice':
            step['transforms'] = [small_pipeline(branch, side) for branch in step['transforms']]
    return out


def build_detector(cfg: Config):
    model = revert_sync_batchnorm(MODELS.build(cfg.model))  # as the Runner does without distribution
    model.init_weights()
    return model


def load_batch(cfg: Config, split: str, root: str, indices=(0, 1)) -> dict:
    dataset_cfg = copy.deepcopy(cfg[f'{split}_dataloader'].dataset)
    dataset_cfg.update(data_root=root, metainfo=dict(classes=CLASSES),
                       pipeline=small_pipeline(dataset_cfg.pipeline))
    dataset = DATASETS.build(dataset_cfg)
    return pseudo_collate([dataset[i] for i in indices])


@pytest.fixture(scope='module', autouse=True)
def mmdet_scope():
    """mmdet's default scope for this module only (the Runner's scope is dropped afterwards too)."""
    with DefaultScope.overwrite_default_scope('mmdet'):
        yield


@pytest.fixture(scope='module')
def coco_root(tmp_path_factory) -> str:
    return make_synthetic_coco(str(tmp_path_factory.mktemp('synthetic_coco')), num_train=4, num_val=4,
                               size=(64, 80), seed=1)


# ------------------------------------------------------------------------------------------- data
def test_synthetic_coco_is_read_by_mmdet(tmp_path):
    synthetic_coco_main([str(tmp_path), '--train', '3', '--val', '2', '--size', '48', '64'])
    ann = json.load(open(tmp_path / 'annotations' / 'instances_val2017.json'))
    assert [c['name'] for c in ann['categories']] == list(CLASSES)
    assert len(ann['images']) == 2 and all(osp.isfile(tmp_path / 'val2017' / im['file_name'])
                                           for im in ann['images'])
    for obj in ann['annotations']:
        x, y, w, h = obj['bbox']
        poly = np.asarray(obj['segmentation'][0]).reshape(-1, 2)
        assert np.allclose([x, y, x + w, y + h], [*poly.min(0), *poly.max(0)], atol=0.01)
        assert 0 < obj['area'] <= w * h and obj['iscrowd'] == 0

    dataset = DATASETS.build(dict(
        type='CocoDataset', data_root=str(tmp_path), ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'), metainfo=dict(classes=CLASSES),
        pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True, with_mask=True)]))
    assert len(dataset) == 3
    sample = dataset[0]
    assert sample['img'].shape == (48, 64, 3)
    assert sample['gt_masks'].masks.shape[1:] == (48, 64)
    # the rasterised polygon covers its annotated area and lies inside its box
    for mask, box in zip(sample['gt_masks'].masks, sample['gt_bboxes'].tensor):
        ys, xs = np.nonzero(mask)
        assert xs.min() >= int(box[0]) and xs.max() <= int(box[2]) + 1
        assert ys.min() >= int(box[1]) and ys.max() <= int(box[3]) + 1
    # same settings: the folder is reused untouched
    stamp = osp.getmtime(tmp_path / 'annotations' / 'instances_val2017.json')
    make_synthetic_coco(str(tmp_path), 3, 2, (48, 64))
    assert osp.getmtime(tmp_path / 'annotations' / 'instances_val2017.json') == stamp


def test_synthetic_coco_rejects_bad_settings(tmp_path):
    with pytest.raises(ValueError, match='at least one image'):
        make_synthetic_coco(str(tmp_path), num_train=0)
    with pytest.raises(ValueError, match='too small'):
        make_synthetic_coco(str(tmp_path), size=(16, 64))


def test_coco_metric_scores_ground_truth_as_perfect_and_wrong_labels_as_zero(coco_root):
    """CocoMetric on the generated set: its own annotations as predictions give bbox and segm mAP 1."""
    ann_file = osp.join(coco_root, 'annotations', 'instances_val2017.json')
    cfg = load_config(DEMO_CONFIG)
    batch = load_batch(cfg, 'val', coco_root, indices=range(4))
    dataset_cfg = dict(type='CocoDataset', data_root=coco_root, ann_file='annotations/instances_val2017.json',
                       data_prefix=dict(img='val2017/'), metainfo=dict(classes=CLASSES), test_mode=True,
                       pipeline=[dict(type='LoadImageFromFile'),
                                 dict(type='LoadAnnotations', with_bbox=True, with_mask=True)])
    dataset = DATASETS.build(dataset_cfg)

    def evaluate(shift_labels: int) -> dict:
        metric = CocoMetric(ann_file=ann_file, metric=['bbox', 'segm'])
        metric.dataset_meta = dict(classes=CLASSES)
        samples = []
        for i, data_sample in enumerate(batch['data_samples']):
            gt = dataset[i]
            n = len(gt['gt_bboxes_labels'])
            samples.append(dict(
                img_id=data_sample.img_id, ori_shape=data_sample.ori_shape,
                pred_instances=dict(
                    bboxes=gt['gt_bboxes'].tensor, scores=torch.ones(n),
                    labels=torch.as_tensor((gt['gt_bboxes_labels'] + shift_labels) % len(CLASSES)),
                    masks=torch.as_tensor(gt['gt_masks'].masks, dtype=torch.bool))))
        metric.process({}, samples)
        return metric.evaluate(size=len(samples))

    perfect = evaluate(0)
    assert perfect['coco/bbox_mAP'] == pytest.approx(1.0)
    assert perfect['coco/segm_mAP'] == pytest.approx(1.0)
    wrong = evaluate(1)
    assert wrong['coco/bbox_mAP'] == 0.0 and wrong['coco/segm_mAP'] == 0.0


def test_missing_coco_stops_with_a_clear_message(tmp_path):
    cfg = load_config(CONFIG_1X['edit', 't'])
    for split in ('train', 'val', 'test'):
        cfg[f'{split}_dataloader'].dataset.data_root = str(tmp_path / 'coco')
    with pytest.raises(DatasetNotFoundError) as err:
        check_data_roots(cfg)
    message = str(err.value)
    assert str(tmp_path / 'coco') in message and 'instances_train2017.json' in message
    assert 'CocoDataset: COCO 2017' in message and 'synthetic_coco' in message


# ---------------------------------------------------------------------------------------- configs
@pytest.mark.parametrize('key', slow_except(sorted(CONFIG_1X), keep=[('edit', 't')]))
def test_config_follows_the_cb_paper_protocol(key):
    variant, size = key
    cfg = load_config(CONFIG_1X[key])
    assert cfg.default_scope == 'mmdet' and cfg.custom_imports.imports == ['mmedit_vit']
    assert cfg.model.type == 'MaskRCNN'
    backbone = cfg.model.backbone
    assert backbone.type == BACKBONE_TYPES[variant] and backbone.arch == SIZES[size][0]
    assert backbone.out_indices == (3, 5, 7, 11)
    assert backbone.init_cfg == dict(type='Pretrained', checkpoint=f'pretrain/cls_{variant}_{size}_in1k.pth')
    assert [n.type for n in cfg.model.neck] == ['mmseg.Feature2Pyramid', 'FPN']
    assert cfg.model.neck[0].rescales == [4, 2, 1, 0.5]
    assert cfg.model.neck[1].in_channels == [SIZES[size][1]] * 4
    assert cfg.optim_wrapper.optimizer == dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05)
    assert cfg.auto_scale_lr.base_batch_size == 16
    assert cfg.train_cfg.max_epochs == 12
    assert cfg.val_evaluator.type == 'CocoMetric' and cfg.val_evaluator.metric == ['bbox', 'segm']
    assert backbone.get('num_registers', 0) == (4 if variant == 'reg4' else 0)
    if variant == 'cb':  # CB in the upper half, not in the blocks that feed the neck (CB paper, Sec. 4.4)
        assert set(backbone.cb_layers) == set(range(6, 12)) - set(backbone.out_indices)
    assert 'find_unused_parameters' not in cfg  # EDIT's unused [CLS] path is frozen by the backbone

    # XCiT / Swin multi-scale training (480-800, or a 384-600 crop first) in both schedules
    choice = cfg.train_dataloader.dataset.pipeline[3]
    assert choice.type == 'RandomChoice' and [t.type for t in choice.transforms[1]] == [
        'RandomChoiceResize', 'RandomCrop', 'RandomChoiceResize']
    assert [min(s) for s in choice.transforms[0][0].scales] == list(range(480, 801, 32))
    three = load_config(CONFIG_3X[key])
    assert three.model == cfg.model and three.optim_wrapper == cfg.optim_wrapper
    assert three.train_dataloader == cfg.train_dataloader
    assert three.train_cfg.max_epochs == 36 and three.param_scheduler[1].milestones == [27, 33]


@pytest.mark.parametrize('size', slow_except(sorted(SIZES), keep=['t']))
def test_full_size_detectors_build(size):
    """Each variant's real detector at this size: the backbone is the classification backbone."""
    with torch.device('meta'):
        reference = PlainViT(arch=SIZES[size][0])
    counts = {}
    for variant in VARIANTS:
        cfg = load_config(CONFIG_1X[variant, size])
        cfg.model.backbone.init_cfg = None
        with torch.device('meta'):  # real sizes, no memory and no init arithmetic
            model = MODELS.build(cfg.model)
        assert type(model.backbone).__name__ == BACKBONE_TYPES[variant]
        assert model.backbone.embed_dims == SIZES[size][1] and model.backbone.depth == 12
        counts[variant] = sum(p.numel() for p in model.backbone.parameters())
        neck = sum(p.numel() for p in model.parameters()) - counts[variant]
        counts.setdefault('rest', neck)
        assert neck == counts['rest']  # everything after the backbone is the same for every variant
    d = SIZES[size][1]
    base = sum(p.numel() for p in reference.parameters())
    assert counts['deit3'] == base
    assert counts['cb'] == base - 12 * 2 * d  # the DeiT ViT of the CB paper: no LayerScale
    assert counts['reg4'] == base + 4 * d
    assert counts['gated'] == base + 12 * (d * d + d)  # elementwise gate: d -> d in every block
    assert counts['edit'] == base + 2 * d * d + 6 * d  # the shared decoder


# ------------------------------------------------------------------------------ train and inference
@pytest.mark.parametrize('key', slow_except(sorted(CONFIG_1X), keep=[('edit', 't')]), ids=lambda k: '_'.join(k))
def test_one_training_iteration_and_inference(key, coco_root):
    cfg = shrink(load_config(CONFIG_1X[key]))
    model = build_detector(cfg)
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    model.train()
    losses = model.train_step(load_batch(cfg, 'train', coco_root), optim_wrapper)
    assert {'loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox', 'loss_mask'} <= set(losses)
    assert all(torch.isfinite(v).all() for v in losses.values())
    moved = [n for n, p in model.named_parameters() if not torch.equal(p, before[n])]
    assert any(n.startswith('backbone.blocks.0.') for n in moved)
    assert any(n.startswith('neck.0.') for n in moved) and any(n.startswith('roi_head.mask_head') for n in moved)

    model.eval()
    batch = load_batch(cfg, 'val', coco_root)
    with torch.no_grad():
        outputs = model.test_step(batch)
    for out, sample in zip(outputs, batch['data_samples']):
        pred = out.pred_instances
        assert pred.bboxes.shape[1] == 4 and len(pred.scores) == len(pred.labels) == len(pred.bboxes)
        assert tuple(pred.masks.shape[1:]) == tuple(sample.ori_shape)  # masks at the original size


def test_layer_decay_is_one_config_option():
    """--cfg-options optim_wrapper.paramwise_cfg.layer_decay_rate=0.75 on a detection config."""
    cfg = shrink(load_config(CONFIG_1X['gated', 't']))
    cfg.merge_from_dict({'optim_wrapper.paramwise_cfg.layer_decay_rate': 0.75})
    model = build_detector(cfg)
    groups = build_optim_wrapper(model, cfg.optim_wrapper).optimizer.param_groups
    names = {id(p): n for n, p in model.named_parameters()}
    lr = {names[id(g['params'][0])]: g['lr'] for g in groups}
    wd = {names[id(g['params'][0])]: g['weight_decay'] for g in groups}
    assert lr['backbone.pos_embed'] == pytest.approx(1e-4 * 0.75 ** 13) and wd['backbone.pos_embed'] == 0
    assert lr['backbone.blocks.0.attn.gate.weight'] == pytest.approx(1e-4 * 0.75 ** 12)
    assert lr['backbone.blocks.11.mlp.fc2.weight'] == pytest.approx(1e-4 * 0.75)
    assert wd['backbone.blocks.11.mlp.fc2.weight'] == 0.05 and wd['backbone.blocks.11.mlp.fc2.bias'] == 0
    assert lr['neck.0.upsample_4x.0.weight'] == lr['roi_head.mask_head.conv_logits.weight'] == 1e-4


def test_multi_scale_training_iteration(coco_root):
    cfg = shrink(load_config(CONFIG_3X['cb', 's']))
    model = build_detector(cfg)
    model.train()
    losses = model.train_step(load_batch(cfg, 'train', coco_root), build_optim_wrapper(model, cfg.optim_wrapper))
    assert all(torch.isfinite(v).all() for v in losses.values())


def test_coco_sized_inputs_resample_the_position_embedding():
    """800x1066 (a 4:3 image at 1333x800), padded to 800x1088: pyramid at strides 4..64."""
    cfg = shrink(load_config(CONFIG_1X['reg4', 't']))
    model = build_detector(cfg).eval()
    with torch.no_grad():
        feats = model.extract_feat(torch.randn(1, 3, 800, 1088))
    assert [tuple(f.shape[2:]) for f in feats] == [(200, 272), (100, 136), (50, 68), (25, 34), (13, 17)]
    assert all(f.shape[1] == 256 for f in feats)


def test_neck_brings_one_stride_to_four():
    """mmseg's Feature2Pyramid from mmdet's scope: stride 16 -> 4 (two transposed convs), 8, 16, 32."""
    cfg = shrink(load_config(CONFIG_1X['deit3', 't']))
    neck = MODELS.build(cfg.model.neck)
    pyramid = neck[0]
    assert [type(m).__name__ for m in pyramid.upsample_4x] == ['ConvTranspose2d', 'SyncBatchNorm', 'GELU',
                                                               'ConvTranspose2d']
    assert [type(m).__name__ for m in pyramid.upsample_2x] == ['ConvTranspose2d']
    x = [torch.randn(2, SMALL_WIDTH, 6, 8) for _ in range(4)]
    levels = pyramid(x)
    assert [tuple(f.shape[2:]) for f in levels] == [(24, 32), (12, 16), (6, 8), (3, 4)]
    assert torch.equal(levels[2], x[2])  # identity at stride 16
    assert torch.equal(levels[3], torch.nn.functional.max_pool2d(x[3], 2))


# ------------------------------------------------------------------------------- pretrained start
def backbone_state(**kwargs) -> dict:
    model = perturb_(PlainViT(arch=SMALL_ARCH, **kwargs), weights=True)
    return {f'backbone.{k}': v for k, v in model.state_dict().items()}


@pytest.mark.parametrize('variant,source', [('deit3', 'classifier'), ('edit', 'classifier'),
                                            ('cb', 'segmentor'), ('reg4', 'segmentor')])
def test_backbone_starts_strictly_from_a_classification_or_segmentation_checkpoint(variant, source, tmp_path):
    kwargs = dict(deit3={}, edit=dict(cls_decoder=True),
                  cb=dict(cb_layers=list(range(6, 12)), layer_scale_init=None),  # the DeiT ViT of the CB paper
                  reg4=dict(num_registers=4))[variant]
    state = backbone_state(**kwargs)
    if source == 'classifier':
        state.update({'head.weight': torch.randn(10, SMALL_WIDTH), 'head.bias': torch.randn(10)})
    else:
        state.update({'neck.lateral_convs.0.conv.weight': torch.randn(8, SMALL_WIDTH, 1, 1),
                      'decode_head.conv_seg.weight': torch.randn(150, 8, 1, 1)})
    path = tmp_path / 'pretrained.pth'
    torch.save({'meta': {'epoch': 3}, 'state_dict': state}, path)

    cfg = shrink(load_config(CONFIG_1X[variant, 't']))
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=str(path))
    model = build_detector(cfg)
    loaded = model.backbone.state_dict()
    assert set(loaded) == {k[len('backbone.'):] for k in state if k.startswith('backbone.')}
    for key, value in loaded.items():
        assert torch.equal(value, state[f'backbone.{key}']), key


def test_backbone_start_rejects_a_different_variant(tmp_path):
    path = tmp_path / 'deit3.pth'
    torch.save({'state_dict': backbone_state()}, path)
    cfg = shrink(load_config(CONFIG_1X['gated', 't']))
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=str(path))
    with pytest.raises(CheckpointMismatchError, match='attn.gate'):
        build_detector(cfg)


# ------------------------------------------------------------------------------------ runner, demo
@pytest.mark.slow
def test_demo_config_trains_and_evaluates_through_the_runner(coco_root, tmp_path):
    cfg = shrink(load_config(DEMO_CONFIG))
    assert cfg.model.backbone.init_cfg is None and cfg.model.backbone.type == 'EDITViT'
    cfg.work_dir = str(tmp_path / 'work')
    for split in ('train', 'val', 'test'):
        loader = cfg[f'{split}_dataloader']
        loader.batch_size = 2
        loader.dataset.data_root = coco_root
        loader.dataset.pipeline = small_pipeline(loader.dataset.pipeline)
    cfg.val_evaluator.ann_file = cfg.test_evaluator.ann_file = osp.join(
        coco_root, 'annotations', 'instances_val2017.json')
    cfg.train_cfg.max_epochs = cfg.train_cfg.val_interval = 1
    cfg.default_hooks.checkpoint.interval = 1
    cfg.visualizer.vis_backends = [dict(type='LocalVisBackend')]
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert osp.isfile(osp.join(cfg.work_dir, 'epoch_1.pth'))
    metrics = runner.test()
    for task in ('bbox', 'segm'):
        for stat in ('mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l'):
            assert -1.0 <= metrics[f'coco/{task}_{stat}'] <= 1.0
        assert 0.0 <= metrics[f'coco/{task}_mAP'] <= 1.0

    # the detector checkpoint starts a new backbone strictly (its 'backbone.' part)
    cfg2 = shrink(load_config(CONFIG_1X['edit', 't']))
    cfg2.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=osp.join(cfg.work_dir, 'epoch_1.pth'))
    model = build_detector(cfg2)
    trained = runner.model.backbone.state_dict()
    assert all(torch.equal(v, trained[k]) for k, v in model.backbone.state_dict().items())
