"""configs/PROTOCOLS.md is the contract between the papers and the configs: every row holds in every config
its section names (bases resolved), every config is named by some section, the grid configs are their bases
plus the variant table, and the built models match the papers' numbers."""
import copy
import glob
import os.path as osp
import re
from ast import literal_eval
from dataclasses import dataclass, field
from fnmatch import fnmatch
from functools import lru_cache
from typing import List

import pytest
import torch
from mmengine.config import Config

from conftest import ROOT, slow_except
from mmedit_vit.models.backbones.variants import BACKBONE_VARIANTS

CONFIG_DIR = osp.join(ROOT, 'configs')
PROTOCOLS = osp.join(CONFIG_DIR, 'PROTOCOLS.md')
GPUS = 8  # every config states its per-GPU batch for 8 GPUs
UNSET, REGISTERS = '<unset>', '<K>'
ALL_CONFIGS = sorted(osp.basename(p) for p in glob.glob(osp.join(CONFIG_DIR, '*.py')))


@dataclass
class Row:
    name: str
    key: str
    value: str
    line: int


@dataclass
class Section:
    title: str
    line: int
    include: List[str]
    exclude: List[str] = field(default_factory=list)
    rows: List[Row] = field(default_factory=list)


def expand_braces(pattern: str) -> List[str]:
    """'cls_{a,b}_x.py' -> ['cls_a_x.py', 'cls_b_x.py'] (nested alternatives expand left to right)."""
    match = re.search(r'\{([^{}]*)\}', pattern)
    if not match:
        return [pattern]
    return [expanded for alt in match.group(1).split(',')
            for expanded in expand_braces(pattern[:match.start()] + alt + pattern[match.end():])]


def _globs(line: str) -> List[str]:
    return [p for g in re.findall(r'`([^`]+)`', line) for p in expand_braces(g)]


def parse_protocols(text: str) -> List[Section]:
    """Sections start at a 'Configs:' line; their table rows have six cells, the fifth a backticked key."""
    sections, current, title = [], None, ''
    for no, line in enumerate(text.splitlines(), 1):
        if line.startswith('## '):
            title, current = line[3:].strip(), None
        elif line.startswith('Configs:'):
            current = Section(title, no, _globs(line))
            sections.append(current)
        elif line.startswith('Not:'):
            assert current is not None, f'PROTOCOLS.md:{no}: "Not:" outside a section'
            current.exclude += _globs(line)
        elif line.startswith('|') and current is not None:
            cells = [c.strip() for c in line.strip().strip('|').split('|')]
            if len(cells) == 6 and cells[4].startswith('`'):
                current.rows.append(Row(cells[0], cells[4].strip('`'), cells[5].strip('`'), no))
    return sections


SECTIONS = parse_protocols(open(PROTOCOLS).read())


def configs_of(section: Section) -> List[str]:
    return [name for name in ALL_CONFIGS
            if any(fnmatch(name, p) for p in section.include)
            and not any(fnmatch(name, p) for p in section.exclude)]


@lru_cache(maxsize=None)
def load(name: str) -> Config:
    return Config.fromfile(osp.join(CONFIG_DIR, name))


def resolve(cfg: dict, key: str):
    """A dotted key of the resolved config (numbers index lists); UNSET where a dict lacks the key."""
    if key == 'total_batch':
        return cfg['train_dataloader']['batch_size'] * GPUS * cfg['optim_wrapper'].get('accumulative_counts', 1)
    node = cfg
    for part in key.split('.'):
        if isinstance(node, (list, tuple)):
            node = node[int(part)]
        elif isinstance(node, dict):
            if part not in node:
                return UNSET
            node = node[part]
        else:
            raise KeyError(f'{key}: {part!r} indexes a {type(node).__name__}')
    return node


def plain(value):
    """Tuples as lists, config dicts as dicts: the form the table's literals compare in."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def expected_value(row: Row, name: str):
    if row.value == UNSET:
        return UNSET
    if row.value == REGISTERS:
        return int(re.match(r'cls_reg(\d+)_', name).group(1))
    return literal_eval(row.value)


def test_protocols_table_is_well_formed():
    assert len(SECTIONS) >= 30
    for section in SECTIONS:
        assert section.rows, f'PROTOCOLS.md:{section.line}: a section without rows'
        assert configs_of(section), f'PROTOCOLS.md:{section.line}: {section.include} names no config'
        for row in section.rows:
            if row.value not in (UNSET, REGISTERS):
                literal_eval(row.value)  # raises on a value that is not a Python literal


def test_every_config_is_in_the_protocols_table():
    covered = {name for section in SECTIONS for name in configs_of(section)}
    assert sorted(set(ALL_CONFIGS) - covered) == []


# one config of each family stays in the fast tier; the whole loop runs with the slow tests
FAST_CONFIGS = ('segmenter_edit_b_ade20k.py', 'upernet_cb_s_ade20k.py', 'maskrcnn_gated_t_coco.py',
                'cls_deit3_s_in1k.py', 'cls_deit_t_in1k.py', 'cls_gated_s_in100.py', 'cls_edit_b_in21k-ft-in1k.py',
                'vitdet_maskrcnn_cb_s_coco.py')


@pytest.mark.parametrize('name', slow_except(ALL_CONFIGS, keep=FAST_CONFIGS), ids=lambda n: n[:-3])
def test_config_follows_every_row_of_its_protocol(name):
    cfg = load(name).to_dict()
    checked, wrong = 0, []
    for section in SECTIONS:
        if name not in configs_of(section):
            continue
        for row in section.rows:
            want, got = plain(expected_value(row, name)), plain(resolve(cfg, row.key))
            ok = got == pytest.approx(want) if isinstance(want, float) else got == want
            if not ok:
                wrong.append(f'PROTOCOLS.md:{row.line} {row.name}: {row.key} = {got!r}, the table says {want!r}')
            checked += 1
    assert checked >= 5
    assert not wrong, '\n'.join(wrong)


# ---- the grid configs are their bases plus one variant line ----
# What a variant adds on top of BACKBONE_VARIANTS in every task (PROTOCOLS.md, "Backbone variants").
PROTOCOL_ARGS = {'gated': dict(gate='elementwise')}
DETECTION_ARGS = {'maskrcnn': {'cb': dict(cb_layers=[6, 8, 9, 10])},
                  'vitdet_maskrcnn': {'cb': dict(cb_layers=[6, 7, 8, 9, 10]),  # no CB in a block the neck reads
                                      'edit': dict(with_cls_token=True)}}  # EDIT's [CLS], outside the sequence
ALL_VARIANTS = tuple(BACKBONE_VARIANTS)
TRANSFER = ('cifar10', 'cifar100', 'flowers102', 'dtd', 'caltech256')
GRIDS = (
    [(f'segmenter_{{v}}_{s}_ade20k.py', ALL_VARIANTS) for s in 'tsb']
    + [(f'upernet_{{v}}_{s}_ade20k{i}.py', ALL_VARIANTS) for s in 'tsb' for i in ('', '_40k')]
    + [(f'maskrcnn_{{v}}_{s}_coco{x}.py', ALL_VARIANTS) for s in 'tsb' for x in ('', '_ms-3x')]
    + [(f'vitdet_maskrcnn_{{v}}_{s}_coco.py', ALL_VARIANTS) for s in 'sb']
    + [(f'cls_{{v}}_{s}_in1k.py', ('deit3', 'edit', 'gated', 'reg4')) for s in 'tsb']  # cb: the DeiT recipe
    + [(f'cls_{{v}}_{s}_in100.py', ALL_VARIANTS) for s in 'tsb']
    + [(f'cls_{{v}}_{s}_in21k.py', ALL_VARIANTS) for s in 'sb']
    + [(f'cls_{{v}}_b_{d}.py', ALL_VARIANTS) for d in TRANSFER]
    + [(f'cls_{{v}}_{s}_in21k-ft-in1k{r}.py', ('deit3', 'edit')) for s in 'sb' for r in ('', '_384')]
)


def with_variant(reference: dict, variant: str, method: str) -> dict:
    """The deit3 config of a grid cell turned into `variant`: backbone type and arguments, checkpoint name."""
    cfg = copy.deepcopy(reference)
    backbone = cfg['model']['backbone']
    assert backbone.pop('type') == 'PlainViT' and 'num_registers' not in backbone
    backbone.update(BACKBONE_VARIANTS[variant], **PROTOCOL_ARGS.get(variant, {}))
    backbone.update(DETECTION_ARGS.get(method, {}).get(variant, {}))
    if backbone.get('init_cfg'):
        checkpoint = backbone['init_cfg']['checkpoint']
        backbone['init_cfg']['checkpoint'] = checkpoint.replace('/cls_deit3_', f'/cls_{variant}_')
    return cfg


FAST_GRIDS = ('segmenter_{v}_b_ade20k.py', 'upernet_{v}_s_ade20k.py', 'maskrcnn_{v}_t_coco.py', 'cls_{v}_s_in1k.py',
              'vitdet_maskrcnn_{v}_b_coco.py')


@pytest.mark.parametrize('pattern,variants', [
    pytest.param(p, v, marks=() if p in FAST_GRIDS else pytest.mark.slow, id=p.format(v='V')[:-3]) for p, v in GRIDS])
def test_grid_config_is_its_bases_plus_the_variant_table(pattern, variants):
    reference = load(pattern.format(v='deit3')).to_dict()
    for variant in variants:
        name = pattern.format(v=variant)
        expected = with_variant(reference, variant, pattern.split('_{v}_')[0])
        assert load(name).to_dict() == expected, f'{name} differs from the deit3 config beyond its variant'


def test_grids_cover_the_named_families():
    names = {p.format(v=v) for p, variants in GRIDS for v in variants}
    assert len(names) == 15 * 5 + 12 + 15 + 10 + 25 + 8 + 10
    assert names <= set(ALL_CONFIGS)


# ---- built models against the papers' numbers ----
# CB Table 6 (UperNet, 512x512 ADE20K crops): parameters of the whole segmenter (backbone, neck, both heads).
TABLE6_PARAMS = {'t': 34.1e6, 's': 53.5e6, 'b': 127.0e6}


def build_segmentor(name: str):
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    cfg = load(name)
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.backbone.init_cfg = None
    with torch.device('meta'):
        return MODELS.build(model_cfg)


@pytest.mark.parametrize('size', 'tsb')
def test_upernet_parameters_match_cb_table6(size):
    """CB adds no parameter: its row and the ViT row of Table 6 are the same count (the deit3 control has
    24 LayerScale vectors more, 0.01-0.04%)."""
    model = build_segmentor(f'upernet_cb_{size}_ade20k.py')
    params = sum(p.numel() for p in model.parameters())
    assert params == pytest.approx(TABLE6_PARAMS[size], rel=0.01), f'{params / 1e6:.2f}M'
    assert model.backbone.pos_embed.shape[1] == (512 // 16) ** 2
    assert model.decode_head.channels == 512
    # the CB paper's ViTs are DeiT ViTs: no LayerScale
    assert not [n for n, _ in model.backbone.named_parameters() if '.ls1.' in n or '.ls2.' in n]
    control = sum(p.numel() for p in build_segmentor(f'upernet_deit3_{size}_ade20k.py').parameters())
    assert control - params == 12 * 2 * model.backbone.embed_dims
    assert control == pytest.approx(TABLE6_PARAMS[size], rel=0.01)


def test_dense_gated_backbones_gate_every_channel():
    """The proposal's O * sigmoid(X W_gate + b_gate): W_gate is d x d, one score per channel."""
    model = build_segmentor('upernet_gated_s_ade20k.py')
    gates = [block.attn.gate for block in model.backbone.blocks]
    assert len(gates) == 12 and all(g.in_features == 384 and g.out_features == 384 for g in gates)


def test_cls_in100_headwise_option_is_one_gate_per_head():
    """The headwise option keeps everything of the elementwise config but the gate."""
    headwise, elementwise = load('cls_gated_s_in100_headwise.py'), load('cls_gated_s_in100.py')
    assert headwise.model.backbone.gate == 'headwise' and elementwise.model.backbone.gate == 'elementwise'
    changed = copy.deepcopy(elementwise.to_dict())
    changed['model']['backbone']['gate'] = 'headwise'
    assert headwise.to_dict() == changed


def test_coco_training_draws_the_swin_scales_and_crops():
    """The 1x and 3x pipelines resize the shorter side to one of 480, 512, ..., 800, sometimes after a crop."""
    import numpy as np
    from mmdet.registry import TRANSFORMS
    from mmdet.structures.bbox import HorizontalBoxes
    from mmdet.structures.mask import BitmapMasks
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    for name in ('maskrcnn_edit_t_coco.py', 'maskrcnn_edit_t_coco_ms-3x.py'):
        pipeline = load(name).train_dataloader.dataset.pipeline
        assert [t.type for t in pipeline][2:] == ['RandomFlip', 'RandomChoice', 'PackDetInputs']
        choice = TRANSFORMS.build(pipeline[3])
        shapes = set()
        for seed in range(40):
            np.random.seed(seed)
            h, w = 480, 640
            results = dict(img=np.zeros((h, w, 3), np.uint8), img_shape=(h, w), ori_shape=(h, w),
                           gt_bboxes=HorizontalBoxes(np.array([[100., 100., 300., 300.]], np.float32)),
                           gt_bboxes_labels=np.array([0]), gt_ignore_flags=np.array([False]),
                           gt_masks=BitmapMasks(np.ones((1, h, w), np.uint8), h, w))
            out = choice(results)
            oh, ow = out['img'].shape[:2]
            assert min(oh, ow) in range(480, 801, 32) or max(oh, ow) == 1333, (oh, ow)
            shapes.add((oh, ow))
        uncropped = {s for s in shapes if abs(s[1] / s[0] - 4 / 3) < 0.01}
        assert len({min(s) for s in uncropped}) >= 3  # several scales drawn
        assert shapes - uncropped  # the crop branch changes the aspect ratio


# ---- the recipes build what they state ----
def _built_backbone(name: str):
    from mmengine.registry import MODELS
    backbone = load(name).model.backbone.to_dict()
    backbone.pop('init_cfg', None)
    return MODELS.build(backbone)


@pytest.mark.parametrize('name,schedule,gamma', [
    ('cls_deit3_s_in1k.py', 'uniform', 1e-4),  # DeiT-III models_v2.py: one rate, LayerScale 1e-4
    ('cls_edit_b_in1k.py', 'uniform', 1e-4),
    ('cls_deit_s_in1k.py', 'linear', None),  # DeiT: linear ramp, no LayerScale
    ('cls_cb_s_in1k.py', 'linear', None),  # CB's ViTs are DeiT ViTs
])
def test_built_classifier_backbone_follows_its_recipe(name, schedule, gamma):
    cfg = load(name).model.backbone
    model = _built_backbone(name)
    rates = [b.drop_path1.drop_prob if hasattr(b.drop_path1, 'drop_prob') else 0. for b in model.blocks]
    rate = cfg.drop_path_rate
    if schedule == 'uniform':
        assert rates == pytest.approx([rate] * len(rates))
    else:
        assert rates == pytest.approx([rate * i / (len(rates) - 1) for i in range(len(rates))])
    for block in model.blocks:
        if gamma is None:
            assert not any('gamma' in n for n, _ in block.named_parameters())
        else:
            assert torch.allclose(block.ls1.gamma, torch.full_like(block.ls1.gamma, gamma))
            assert torch.allclose(block.ls2.gamma, torch.full_like(block.ls2.gamma, gamma))
