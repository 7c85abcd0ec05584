"""Every trainable parameter of every model family gets a gradient in one training step.

A parameter outside the graph stops DDP at its second iteration ("Expected to have finished
reduction ..."), so this is what two-process training needs of each config. Segmentation configs are
checked the same way in tests/test_seg_configs.py (``test_config_builds_trains_and_infers``); this file
covers classification (every variant, the value gate, EDIT + gate + registers) and detection.
"""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope
from mmengine.structures import BaseDataElement

from conftest import ROOT
from mmedit_vit.models.backbones import BACKBONE_VARIANTS

pytestmark = pytest.mark.usefixtures('one_thread')

VARIANTS = tuple(BACKBONE_VARIANTS)
TINY = dict(embed_dims=32, num_heads=2, depth=4)


@pytest.fixture(scope='module')
def coco_root(tmp_path_factory) -> str:
    from mmedit_vit.datasets import make_synthetic_coco
    return make_synthetic_coco(str(tmp_path_factory.mktemp('coco')), num_train=4, num_val=4, size=(64, 80), seed=1)


def outside_graph(model: torch.nn.Module) -> list:
    """Trainable parameters the loss does not reach: DDP stops on these."""
    return [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]


def no_gradient(model: torch.nn.Module) -> list:
    """Stricter: also those whose gradient is exactly zero."""
    return [n for n, p in model.named_parameters() if p.requires_grad and (p.grad is None or not p.grad.abs().sum())]


CLS_CASES = {f'cls_{v}_t_in1k': (f'cls_{v}_t_in1k.py', {}) for v in VARIANTS}
CLS_CASES.update({
    'cls_deit_t_in1k': ('cls_deit_t_in1k.py', {}),
    'cls_gated_value': ('cls_gated_s_in100_value.py', {}),
    'cls_edit_gated_reg4': ('cls_edit_t_in1k.py', dict(gate='headwise', num_registers=4)),
    'cls_edit_elementwise_value_reg2': ('cls_edit_t_in1k.py', dict(gate='elementwise', gate_position='value',
                                                                   num_registers=2)),
    'cls_edit_gap': ('cls_edit_t_in1k.py', {}),
    'cls_cbs_reg4': ('cls_cb_t_in1k.py', dict(cb_mode='cbs', num_registers=4)),
    'cls_demo': (osp.join('demo', 'cls_edit_t_synthetic.py'), {}),
})


@pytest.mark.slow
@pytest.mark.parametrize('case', sorted(CLS_CASES))
def test_classifier_step_reaches_every_parameter(case):
    path, backbone = CLS_CASES[case]
    cfg = Config.fromfile(osp.join(ROOT, 'configs', path))
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.backbone.update(arch=TINY, img_size=32, drop_path_rate=0.0, **backbone)
    model_cfg.backbone.pop('init_cfg', None)
    if case == 'cls_edit_gap':
        model_cfg.pool = 'gap'
    model_cfg.num_classes = 3
    model_cfg.data_preprocessor.num_classes = 3
    with DefaultScope.overwrite_default_scope('mmedit_vit'):
        model = MODELS.build(model_cfg)
    model.train()
    images = [torch.randint(0, 255, (3, 32, 32), dtype=torch.uint8) for _ in range(4)]
    samples = [BaseDataElement(gt_label=torch.tensor([i % 3])) for i in range(4)]
    data = model.data_preprocessor(dict(inputs=images, data_samples=samples), True)
    loss = model(**data, mode='loss')['loss']
    loss.backward()
    assert torch.isfinite(loss)
    assert not no_gradient(model), f'{case}: no gradient for {no_gradient(model)}'


@pytest.mark.slow
@pytest.mark.parametrize('variant', VARIANTS)
def test_detector_step_reaches_every_parameter(variant, coco_root):
    import test_detection as det
    with DefaultScope.overwrite_default_scope('mmdet'):
        cfg = det.shrink(det.load_config(det.CONFIG_1X[(variant, 't')]))
        model = det.build_detector(cfg)
        model.train()
        data = model.data_preprocessor(det.load_batch(cfg, 'train', coco_root), True)
        losses = model(**data, mode='loss')
        loss, _ = model.parse_losses(losses)
        loss.backward()
    # (a detector's box regression gradient is zero on a batch without positive anchors: participation is the test)
    missing = outside_graph(model)
    assert not missing, f'{variant}: outside the graph: {missing}'
