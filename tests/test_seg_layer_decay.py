"""Layer-wise lr decay as one option of the segmentation configs (UperNet and Segmenter)."""
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from conftest import ROOT

RATE = 0.65
DEPTH = 12


def built(name: str, rate=None):
    init_default_scope('mmseg')
    cfg = Config.fromfile(osp.join(ROOT, 'configs', name))
    if rate is not None:  # what --cfg-options optim_wrapper.paramwise_cfg.layer_decay_rate=RATE does
        cfg.merge_from_dict({'optim_wrapper.paramwise_cfg.layer_decay_rate': rate})
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    optimizer = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
    names = {id(p): n for n, p in model.named_parameters()}
    lrs = {names[id(p)]: g['lr'] for g in optimizer.param_groups for p in g['params']}
    wds = {names[id(p)]: g['weight_decay'] for g in optimizer.param_groups for p in g['params']}
    return cfg, lrs, wds


@pytest.mark.parametrize('name', ['upernet_edit_t_ade20k.py', 'segmenter_edit_t_ade20k.py',
                                  'upernet_reg4_t_ade20k_40k.py'])
def test_one_learning_rate_per_depth(name):
    cfg, lrs, _ = built(name, RATE)
    base = cfg.optim_wrapper.optimizer.lr
    by_depth = {}
    for param, lr in lrs.items():
        if param.startswith('backbone.blocks.'):
            depth = int(param.split('.')[2]) + 1
        elif param.split('.')[1] in ('patch_embed', 'pos_embed', 'cls_token', 'reg_token'):
            depth = 0
        else:  # EDIT decoder, final norm, neck, heads
            depth = DEPTH + 1
        by_depth.setdefault(depth, set()).add(lr)
    assert sorted(by_depth) == list(range(DEPTH + 2))
    for depth, values in by_depth.items():
        assert len(values) == 1, (depth, values)
        assert values.pop() == pytest.approx(base * RATE ** (DEPTH + 1 - depth)), depth
    if '_edit_' in name:  # dense EDIT: nothing reads [CLS], so its decoder and token are frozen, not trained
        assert not any(p.startswith(('backbone.decoder.', 'backbone.cls_token')) for p in lrs)
    else:  # [CLS] and registers: with the embeddings
        assert lrs['backbone.cls_token'] == pytest.approx(base * RATE ** (DEPTH + 1))
    if 'reg4' in name:
        assert lrs['backbone.reg_token'] == pytest.approx(base * RATE ** (DEPTH + 1))


@pytest.mark.parametrize('name', ['upernet_cb_t_ade20k.py', 'segmenter_deit3_t_ade20k.py'])
def test_default_is_off_and_keeps_the_weight_decay_rules(name):
    cfg, lrs, wds = built(name)
    assert cfg.optim_wrapper.constructor == 'ViTLayerDecayOptimWrapperConstructor'
    assert set(lrs.values()) == {cfg.optim_wrapper.optimizer.lr}
    _, _, decayed_wds = built(name, RATE)
    assert decayed_wds == wds  # the decay changes learning rates only
    if name.startswith('upernet'):
        assert wds['backbone.pos_embed'] == 0.0 and wds['backbone.blocks.0.attn.qkv.weight'] == 0.01
