"""ViTDet Mask R-CNN configs: the protocol's values (configs/PROTOCOLS.md), every variant builds at full size,
trains a step and predicts (shrunk for the CPU), the layer-wise lr decay over windowed blocks, the LSJ pipeline."""
import copy
import os.path as osp

import numpy as np
import pytest
import torch
from mmdet.registry import DATASETS, MODELS, TRANSFORMS
from mmdet.structures.bbox import HorizontalBoxes
from mmdet.structures.mask import BitmapMasks
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from test_detection import load_config

from conftest import ROOT, slow_except
from mmedit_vit.datasets import make_synthetic_coco
from mmedit_vit.datasets.synthetic_coco import CLASSES
from mmedit_vit.models import PlainViT
from mmedit_vit.models.backbones import BACKBONE_VARIANTS

pytestmark = pytest.mark.usefixtures('one_thread')

VARIANTS = tuple(BACKBONE_VARIANTS)
SIZES = {'s': ('small', 384, 6), 'b': ('base', 768, 12)}
CONFIGS = {(v, s): osp.join(ROOT, 'configs', f'vitdet_maskrcnn_{v}_{s}_coco.py') for v in VARIANTS for s in SIZES}
DEMO_CONFIG = osp.join(ROOT, 'configs', 'demo', 'vitdet_maskrcnn_edit_t_synthetic_coco.py')
BACKBONE_TYPES = {name: cfg['type'] for name, cfg in BACKBONE_VARIANTS.items()}
GLOBAL = (2, 5, 8, 11)
WINDOWED = [0, 1, 3, 4, 6, 7, 9, 10]
SMALL_WIDTH = 32
SIDE = 64  # shrunk images: a 4x4 token map in 2x2 windows


def shrink(cfg: Config) -> Config:
    """The same detector with a 32-wide backbone at 64x64 (2x2 windows), no pretrained file, small RoI budgets."""
    cfg = copy.deepcopy(cfg)
    cfg.model.backbone.update(arch=dict(embed_dims=SMALL_WIDTH, num_heads=2, depth=12), img_size=SIDE, window_size=2,
                              init_cfg=None)
    cfg.model.neck.update(backbone_channel=SMALL_WIDTH, in_channels=[8, 16, 32, 32])
    cfg.model.data_preprocessor.batch_augments[0].size = (SIDE, SIDE)
    cfg.model.train_cfg.rpn_proposal.update(nms_pre=200, max_per_img=100)
    cfg.model.train_cfg.rcnn.sampler.num = 64
    cfg.model.test_cfg.rpn.update(nms_pre=200, max_per_img=100)
    cfg.model.test_cfg.rcnn.max_per_img = 20
    for split in ('train', 'val', 'test'):
        for step in cfg[f'{split}_dataloader'].dataset.pipeline:
            for key in ('scale', 'crop_size', 'size'):
                if key in step:
                    step[key] = (SIDE, SIDE)
    return cfg


@pytest.fixture(scope='module', autouse=True)
def mmdet_scope():
    with DefaultScope.overwrite_default_scope('mmdet'):
        yield


@pytest.fixture(scope='module')
def coco_root(tmp_path_factory) -> str:
    return make_synthetic_coco(str(tmp_path_factory.mktemp('synthetic_coco')), num_train=4, num_val=4,
                               size=(64, 80), seed=1)


def load_batch(cfg: Config, split: str, root: str, indices=(0, 1)) -> dict:
    dataset_cfg = copy.deepcopy(cfg[f'{split}_dataloader'].dataset)
    dataset_cfg.update(data_root=root, metainfo=dict(classes=CLASSES))
    dataset = DATASETS.build(dataset_cfg)
    return pseudo_collate([dataset[i] for i in indices])


def build_detector(cfg: Config):
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


# ---------------------------------------------------------------------------------------- protocol
@pytest.mark.parametrize('key', slow_except(sorted(CONFIGS), keep=[('edit', 'b')]), ids='_'.join)
def test_config_follows_the_vitdet_protocol(key):
    variant, size = key
    arch, width, _ = SIZES[size]
    cfg = load_config(CONFIGS[key])
    assert cfg.default_scope == 'mmdet' and cfg.model.type == 'MaskRCNN'
    backbone = cfg.model.backbone
    assert backbone.type == BACKBONE_TYPES[variant] and backbone.arch == arch
    assert (backbone.img_size, backbone.window_size, backbone.global_attn_indexes, backbone.rel_pos) == (
        1024, 14, GLOBAL, True)
    assert backbone.out_indices == (11,) and backbone.drop_path_rate == 0.1
    assert backbone.init_cfg == dict(type='Pretrained', checkpoint=f'pretrain/cls_{variant}_{size}_in1k.pth')
    assert backbone.get('num_registers', 0) == (4 if variant == 'reg4' else 0)
    if variant == 'cb':  # the upper half without the block the pyramid reads
        assert backbone.cb_layers == [6, 7, 8, 9, 10] and backbone.layer_scale_init is None
    assert cfg.model.neck == dict(type='SimpleFPN', backbone_channel=width,
                                  in_channels=[width // 4, width // 2, width, width], out_channels=256, num_outs=5,
                                  norm_cfg=dict(type='LN2d', eps=1e-6, requires_grad=True))
    assert cfg.model.rpn_head.num_convs == 2
    bbox_head, mask_head = cfg.model.roi_head.bbox_head, cfg.model.roi_head.mask_head
    assert bbox_head.type == 'Shared4Conv1FCBBoxHead' and bbox_head.fc_out_channels == 1024
    assert bbox_head.norm_cfg.type == mask_head.norm_cfg.type == 'LN2d'
    assert cfg.model.data_preprocessor.batch_augments == [dict(type='BatchFixedSizePad', size=(1024, 1024),
                                                               pad_mask=True)]
    steps = {t.type: t for t in cfg.train_dataloader.dataset.pipeline}
    assert steps['RandomResize'].ratio_range == (0.1, 2.0) and steps['RandomResize'].scale == (1024, 1024)
    assert steps['RandomCrop'].crop_size == (1024, 1024) and steps['RandomCrop'].crop_type == 'absolute_range'
    assert cfg.train_dataloader.batch_size * 8 == 64
    assert cfg.optim_wrapper.optimizer == dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.1)
    assert cfg.optim_wrapper.paramwise_cfg.layer_decay_rate == 0.7
    assert cfg.train_cfg.type == 'IterBasedTrainLoop' and cfg.train_cfg.max_iters == 184375
    # 100 epochs of COCO train2017 (118k images) at batch 64; lr steps at 88 and 96 epochs
    assert round(cfg.train_cfg.max_iters * 64 / 118000) == 100
    assert [round(m * 64 / 118000) for m in cfg.param_scheduler[1].milestones] == [89, 96]
    assert (cfg.param_scheduler[0].end, cfg.param_scheduler[0].start_factor) == (250, 0.001)
    assert cfg.default_hooks.checkpoint.by_epoch is False and cfg.log_processor.by_epoch is False


def rel_pos_parameters(head_dim: int, window: int = 14, grid: int = 64) -> int:
    """Two tables (2 S - 1) x head_dim per block: S = the window in windowed blocks, the 1024 / 16 grid in global."""
    return len(WINDOWED) * 2 * (2 * window - 1) * head_dim + len(GLOBAL) * 2 * (2 * grid - 1) * head_dim


@pytest.mark.parametrize('size', slow_except(sorted(SIZES), keep=['s']))
def test_full_size_detectors_build(size):
    """Each variant's real detector: the classification backbone at 1024 plus the relative-position tables;
    everything after the backbone is the same for every variant."""
    arch, d, heads = SIZES[size]
    with torch.device('meta'):
        reference = PlainViT(arch=arch, img_size=1024, with_cls_token=False)  # ViTDet's token set: no [CLS]
    base = sum(p.numel() for p in reference.parameters())
    counts = {}
    for variant in VARIANTS:
        cfg = load_config(CONFIGS[variant, size])
        cfg.model.backbone.init_cfg = None
        with torch.device('meta'):
            model = MODELS.build(cfg.model)
        assert type(model.backbone).__name__ == BACKBONE_TYPES[variant]
        assert model.backbone.windowed_blocks == WINDOWED
        assert type(model.neck).__name__ == 'SimpleFPN'
        counts[variant] = sum(p.numel() for p in model.backbone.parameters()) - rel_pos_parameters(d // heads)
        rest = sum(p.numel() for p in model.parameters()) - counts[variant]
        assert rest == counts.setdefault('rest', rest)
    assert counts['deit3'] == base
    assert counts['cb'] == base - 12 * 2 * d  # no LayerScale
    assert counts['reg4'] == base + 4 * d
    assert counts['gated'] == base + 12 * (d * d + d)
    assert counts['edit'] == base + d + 2 * d * d + 6 * d  # EDIT keeps its [CLS], outside the sequence


# ------------------------------------------------------------------------------ train and inference
def one_step_and_predict(cfg: Config, coco_root: str) -> None:
    model = build_detector(cfg)
    assert model.backbone.windowed_blocks == WINDOWED
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    model.train()
    losses = model.train_step(load_batch(cfg, 'train', coco_root), optim_wrapper)
    assert {'loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox', 'loss_mask'} <= set(losses)
    assert all(torch.isfinite(v).all() for v in losses.values())
    moved = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    for prefix in ('backbone.blocks.0.attn.qkv', 'backbone.blocks.0.attn.rel_pos_h', 'backbone.blocks.2.attn.rel_pos_w',
                   'neck.rescales.0.0', 'neck.fpn_convs.3', 'rpn_head.rpn_conv', 'roi_head.bbox_head.shared_convs.3',
                   'roi_head.mask_head.convs.0'):
        assert any(n.startswith(prefix) for n in moved), prefix

    model.eval()
    batch = load_batch(cfg, 'val', coco_root)
    with torch.no_grad():
        outputs = model.test_step(batch)
    for out, sample in zip(outputs, batch['data_samples']):
        pred = out.pred_instances
        assert pred.bboxes.shape[1] == 4 and len(pred.scores) == len(pred.labels) == len(pred.bboxes)
        assert tuple(pred.masks.shape[1:]) == tuple(sample.ori_shape)
        assert tuple(out.batch_input_shape) == (SIDE, SIDE)  # padded to the fixed size


@pytest.mark.parametrize('key', slow_except(sorted(CONFIGS), keep=[('edit', 'b')]), ids='_'.join)
def test_one_training_iteration_and_inference(key, coco_root):
    one_step_and_predict(shrink(load_config(CONFIGS[key])), coco_root)


def test_layer_decay_reaches_the_relative_position_tables():
    """lr x 0.7^(12 - i) for block i (its relative-position tables too), x 0.7^13 for the embeddings, x 1 for the
    neck and heads; no weight decay on 1-D parameters and the position embedding (mmdet's ViTDet rule)."""
    cfg = shrink(load_config(CONFIGS['gated', 'b']))
    model = build_detector(cfg)
    groups = build_optim_wrapper(model, cfg.optim_wrapper).optimizer.param_groups
    names = {id(p): n for n, p in model.named_parameters()}
    lr = {names[id(g['params'][0])]: g['lr'] for g in groups}
    wd = {names[id(g['params'][0])]: g['weight_decay'] for g in groups}
    assert lr['backbone.pos_embed'] == pytest.approx(1e-4 * 0.7 ** 13) and wd['backbone.pos_embed'] == 0
    assert lr['backbone.blocks.0.attn.rel_pos_h'] == pytest.approx(1e-4 * 0.7 ** 12)
    assert wd['backbone.blocks.0.attn.rel_pos_h'] == 0.1  # a 2-D table: decayed, as in both references
    assert lr['backbone.blocks.11.attn.gate.weight'] == pytest.approx(1e-4 * 0.7)
    assert wd['backbone.blocks.11.mlp.fc2.bias'] == 0 and wd['backbone.blocks.11.mlp.fc2.weight'] == 0.1
    assert lr['neck.rescales.0.0.weight'] == lr['roi_head.bbox_head.shared_convs.0.conv.weight'] == 1e-4


def test_windowed_backbone_pads_coco_sized_inputs_to_whole_windows():
    """A 512x512 input at the configs' 14x14 windows: the 32x32 map is padded to 42x42 inside the windowed
    blocks and cropped back; the pyramid has strides 4..64."""
    cfg = shrink(load_config(CONFIGS['reg4', 's']))
    cfg.model.backbone.window_size = 14
    model = build_detector(cfg).eval()
    with torch.no_grad():
        feats = model.extract_feat(torch.randn(1, 3, 512, 512))
    assert [tuple(f.shape[1:]) for f in feats] == [(256, 128, 128), (256, 64, 64), (256, 32, 32), (256, 16, 16),
                                                   (256, 8, 8)]


def test_large_scale_jitter_draws_scales_and_always_gives_1024_squares():
    """RandomResize 0.1-2.0 of 1024x1024, a 1024 crop, padding: every sample is 1024x1024, the image inside it
    from about 102 to 1024 pixels on its longer side."""
    pipeline = load_config(CONFIGS['edit', 's']).train_dataloader.dataset.pipeline[2:-1]
    transforms = [TRANSFORMS.build(t) for t in pipeline]
    longer = []
    for seed in range(30):
        np.random.seed(seed)
        h, w = 480, 640
        results = dict(img=np.full((h, w, 3), 7, np.uint8), img_shape=(h, w), ori_shape=(h, w),
                       gt_bboxes=HorizontalBoxes(np.array([[100., 100., 300., 300.]], np.float32)),
                       gt_bboxes_labels=np.array([0]), gt_ignore_flags=np.array([False]),
                       gt_masks=BitmapMasks(np.ones((1, h, w), np.uint8), h, w))
        for t in transforms:
            results = t(results)
            if results is None:
                break
        else:
            assert results['img'].shape == (1024, 1024, 3)
            inside = np.argwhere((results['img'] == 7).all(-1))  # the image's pixels, not the grey padding
            longer.append(int(inside.max(0).max() - inside.min(0).min()) + 1)
    assert len(longer) >= 20 and min(longer) < 400 and max(longer) == 1024


def test_demo_config_is_the_vitdet_detector_at_tiny_width():
    """The CPU demo keeps the ViTDet detector (windows with global blocks, relative positions, simple pyramid, LN
    heads, LSJ, fixed-size batches) and changes width, sizes, RoI budgets and schedule only."""
    demo, real = load_config(DEMO_CONFIG), load_config(CONFIGS['edit', 's'])
    backbone = demo.model.backbone
    assert (backbone.type, backbone.arch, backbone.img_size, backbone.window_size) == ('EDITViT', 'tiny', 160, 5)
    assert (backbone.img_size // 16) % backbone.window_size == 0  # whole windows on the 10x10 map
    for key in ('global_attn_indexes', 'rel_pos', 'out_indices', 'drop_path_rate'):
        assert backbone[key] == real.model.backbone[key], key
    assert backbone.init_cfg is None
    assert demo.model.neck.in_channels == [48, 96, 192, 192] and demo.model.neck.norm_cfg == real.model.neck.norm_cfg
    assert demo.model.rpn_head == real.model.rpn_head
    assert demo.model.roi_head.bbox_head.type == 'Shared4Conv1FCBBoxHead'
    assert demo.model.data_preprocessor.batch_augments[0].size == (160, 160)
    train_types = [t.type for t in demo.train_dataloader.dataset.pipeline]
    assert train_types == [t.type for t in real.train_dataloader.dataset.pipeline]
    assert demo.train_cfg.type == 'EpochBasedTrainLoop' and demo.default_hooks.checkpoint.by_epoch
    with torch.device('meta'):
        model = MODELS.build(demo.model)
    assert model.backbone.windowed_blocks == WINDOWED


# ------------------------------------------------------------------------------------------- token set
STUDY_CONFIGS = {v: osp.join(ROOT, 'configs', f'vitdet_maskrcnn_{v}_s_coco_cls-in-windows.py')
                 for v in ('deit3', 'gated', 'cb', 'reg4')}


@pytest.mark.parametrize('key', sorted(CONFIGS), ids='_'.join)
def test_config_has_vitdets_token_set(key):
    """No [CLS] in the backbone sequence (EDIT's is outside it), registers out of the windowed blocks."""
    variant, _ = key
    backbone = load_config(CONFIGS[key]).model.backbone
    assert backbone.with_cls_token == (variant == 'edit') and backbone.prefix_in_windows == 'global_blocks'
    with torch.device('meta'):
        built = PlainViT(**{k: v for k, v in backbone.items() if k not in ('type', 'init_cfg')},
                         cls_decoder=variant == 'edit')
    assert built.num_prefix_tokens == (4 if variant == 'reg4' else 0)


@pytest.mark.parametrize('variant', sorted(STUDY_CONFIGS))
def test_sink_study_configs_keep_cls_in_every_window(variant):
    """One S config per family with [CLS]: the same detector as the protocol's but for the token set."""
    study, protocol = load_config(STUDY_CONFIGS[variant]), load_config(CONFIGS[(variant, 's')])
    assert (study.model.backbone.with_cls_token, study.model.backbone.prefix_in_windows) == (True, 'every_window')
    for cfg in (study, protocol):
        for name in ('with_cls_token', 'prefix_in_windows'):
            cfg.model.backbone.pop(name)
    assert study.to_dict() == protocol.to_dict()


def test_demo_dump_says_what_runs():
    """The demo replaces the 100-epoch schedule: its dumped config has none of that schedule's values."""
    cfg = Config.fromfile(DEMO_CONFIG)
    assert 'max_iters' not in cfg and 'interval' not in cfg
    assert '184375' not in cfg.pretty_text and cfg.train_cfg.type == 'EpochBasedTrainLoop'
    assert cfg.model.backbone.with_cls_token is True  # EDIT: its [CLS] stays outside the sequence
