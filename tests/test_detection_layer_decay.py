"""Layer-wise learning-rate decay for the ViT backbones (ViTLayerDecayOptimWrapperConstructor)."""
import pytest
import torch
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS
from torch import nn

from mmedit_vit.engine.optimizers import vit_layer_id
from mmedit_vit.models import EDITViT, PlainViT

ARCH = dict(embed_dims=32, num_heads=2, depth=4)


class Detector(nn.Module):
    """A backbone and a head, named as in mmdet/mmseg models."""

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.neck = nn.Sequential(nn.Conv2d(32, 8, 1), nn.BatchNorm2d(8))


def build_optimizer(model: nn.Module, **paramwise):
    cfg = dict(type='ViTLayerDecayOptimWrapperConstructor',
               optim_wrapper_cfg=dict(type='OptimWrapper',
                                      optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05)),
               paramwise_cfg=paramwise)
    return OPTIM_WRAPPER_CONSTRUCTORS.build(cfg)(model).optimizer


def settings_by_name(model: nn.Module, optimizer) -> dict:
    names = {id(p): n for n, p in model.named_parameters()}
    out = {}
    for group in optimizer.param_groups:
        for p in group['params']:
            out[names[id(p)]] = (group['lr'], group['weight_decay'])
    return out


def test_layer_ids_follow_the_beit_scheme():
    assert vit_layer_id('backbone.patch_embed.proj.weight', 12) == 0
    for name in ('backbone.pos_embed', 'backbone.cls_token', 'backbone.reg_token'):
        assert vit_layer_id(name, 12) == 0
    assert vit_layer_id('backbone.blocks.0.attn.qkv.weight', 12) == 1
    assert vit_layer_id('backbone.blocks.11.mlp.fc2.bias', 12) == 12
    assert vit_layer_id('backbone.decoder.kv.weight', 12) == 13
    assert vit_layer_id('backbone.norm.weight', 12) == 13
    assert vit_layer_id('neck.0.weight', 12) == 13
    assert vit_layer_id('roi_head.bbox_head.fc_cls.weight', 12) == 13
    with pytest.raises(ValueError, match='backbone.stages.0.weight'):
        vit_layer_id('backbone.stages.0.weight', 12)


def test_learning_rates_decay_per_block_and_heads_keep_base_lr():
    model = Detector(EDITViT(arch=ARCH, num_registers=2, out_indices=(1, 3), out_cls_token=True))
    rate = 0.5
    settings = settings_by_name(model, build_optimizer(model, layer_decay_rate=rate))
    assert len(settings) == len(list(model.parameters()))
    depth = 4
    for name, (lr, _) in settings.items():
        if name.startswith('backbone.blocks.'):
            block = int(name.split('.')[2])
            expected = 1e-3 * rate ** (depth - block)
        elif name.split('.')[1] in ('patch_embed', 'pos_embed', 'cls_token', 'reg_token'):
            expected = 1e-3 * rate ** (depth + 1)
        else:  # final norm, EDIT decoder, neck
            expected = 1e-3
        assert lr == pytest.approx(expected), name
    assert settings['backbone.pos_embed'][0] == pytest.approx(1e-3 / 32)
    assert settings['backbone.blocks.3.attn.qkv.weight'][0] == pytest.approx(5e-4)
    assert settings['neck.0.weight'][0] == pytest.approx(1e-3)


def test_weight_decay_rules_come_from_mmengine_paramwise_options():
    model = Detector(PlainViT(arch=ARCH, out_indices=(3,)))
    settings = settings_by_name(model, build_optimizer(
        model, layer_decay_rate=0.75, flat_decay_mult=0.0,
        custom_keys={'backbone.pos_embed': dict(decay_mult=0.0), 'backbone.cls_token': dict(decay_mult=0.0)}))
    for name, (_, wd) in settings.items():
        param = dict(model.named_parameters())[name]
        no_decay = param.ndim == 1 or name in ('backbone.pos_embed', 'backbone.cls_token')
        assert wd == (0.0 if no_decay else 0.05), name
    assert settings['backbone.blocks.0.ls1.gamma'] == (pytest.approx(1e-3 * 0.75 ** 4), 0.0)


def test_rate_one_is_the_default_constructor():
    model = Detector(PlainViT(arch=ARCH))
    settings = settings_by_name(model, build_optimizer(model))
    assert {lr for lr, _ in settings.values()} == {1e-3}
    assert {wd for _, wd in settings.values()} == {0.05}


def test_one_step_moves_early_blocks_less():
    """AdamW's first step is about lr per weight: block 0 moves rate**(L-1) as far as the last block."""
    model = Detector(PlainViT(arch=ARCH, layer_scale_init=None))  # no LayerScale: gradients far above eps
    optimizer = build_optimizer(model, layer_decay_rate=0.5)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    x = torch.randn(2, 3, 32, 32)
    model.neck(model.backbone(x)[-1]).square().mean().backward()
    optimizer.step()
    moved = {n: (p.detach() - before[n]).abs().max().item() for n, p in model.named_parameters()}
    first = moved['backbone.blocks.0.mlp.fc1.weight']
    last = moved['backbone.blocks.3.mlp.fc1.weight']
    assert first / last == pytest.approx(0.5 ** 3, rel=0.05)


@pytest.mark.parametrize('bad', [0.0, 1.5, -0.1])
def test_bad_rate_is_rejected(bad):
    with pytest.raises(ValueError, match='layer_decay_rate'):
        build_optimizer(Detector(PlainViT(arch=ARCH)), layer_decay_rate=bad)


def test_model_without_a_vit_backbone_names_the_fix():
    model = nn.Sequential(nn.Linear(2, 2))
    with pytest.raises(ValueError, match='num_layers'):
        build_optimizer(model, layer_decay_rate=0.9)
