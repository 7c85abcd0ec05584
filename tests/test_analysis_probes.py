"""Probes on the running backbones, on constructed models whose statistics are known."""
import math

import pytest
import torch
from mmengine.registry import MODELS

from mmedit_vit.analysis.layer_stats import attention_maps, layer_statistics, norm_histograms, summarize
from mmedit_vit.analysis.probes import capture_backbone
from mmedit_vit.models.backbones.variants import BACKBONE_VARIANTS

ARCH = dict(embed_dims=32, num_heads=2, depth=4)
IMG = (2, 3, 32, 48)  # grid 2x3


def build(variant, **kwargs):
    return MODELS.build(dict(BACKBONE_VARIANTS[variant], arch=ARCH, img_size=(32, 48), **kwargs))


def zero_queries_and_keys(model):
    """Every attention logit becomes 0: uniform attention in every layer (and in EDIT's decoder)."""
    d = model.embed_dims
    with torch.no_grad():
        for block in model.blocks:
            block.attn.qkv.weight[:2 * d] = 0
            block.attn.qkv.bias[:2 * d] = 0
        if model.decoder is not None:
            model.decoder.kv.weight[:d] = 0
            model.decoder.kv.bias[:d] = 0
    return model


@pytest.mark.parametrize('variant', sorted(BACKBONE_VARIANTS))
def test_uniform_attention_gives_log_n_and_cls_ratio_one(variant):
    model = zero_queries_and_keys(build(variant))
    cap = capture_backbone(model, torch.randn(IMG))
    stats = layer_statistics(cap)
    n = cap.num_prefix_tokens + 6
    assert cap.depth == 4 and cap.grid == (2, 3)
    assert stats['entropy_mean'] == pytest.approx([math.log(n)] * 4, abs=1e-5)
    assert stats['entropy_p15'] == pytest.approx([math.log(n)] * 4, abs=1e-5)
    if variant == 'edit':
        assert 'cls_attention_ratio' not in stats  # [CLS] is not in the encoder sequence
        assert stats['decoder_cls_attention_ratio'] == pytest.approx([1.0] * 4, abs=1e-5)
        assert stats['decoder_entropy'] == pytest.approx([math.log(7)] * 4, abs=1e-5)  # 6 patches + [CLS]
    else:
        assert stats['cls_attention_ratio'] == pytest.approx([1.0] * 4, abs=1e-5)
    if variant == 'reg4':
        assert stats['register_attention_share'] == pytest.approx([4 / n] * 4, abs=1e-6)
    # uniform over a 2x3 grid: mean distance to the 5 others (rows 0/1, columns 0/0.5/1)
    coords = [(r, c / 2) for r in (0, 1) for c in range(3)]
    hand = sum(sum(abs(a - c) + abs(b - d) for (c, d) in coords) / 5 for (a, b) in coords) / 6
    assert stats['relative_distance'] == pytest.approx([hand] * 4, abs=1e-6)


def test_attention_forced_onto_cls_is_measured():
    """[CLS] is the only token with a large channel 0; keys read channel 0 and queries are constant."""
    model = build('deit3')
    d, hd = model.embed_dims, model.embed_dims // model.num_heads
    with torch.no_grad():
        model.cls_token.zero_()
        model.cls_token[..., 0] = 100.0
        model.patch_embed.proj.weight[0] = 0
        model.patch_embed.proj.bias[0] = 0
        model.pos_embed[..., 0] = 0
        for block in model.blocks:
            w, b = block.attn.qkv.weight, block.attn.qkv.bias
            w[:2 * d] = 0
            b[:2 * d] = 0
            for h in range(model.num_heads):
                b[h * hd] = 20.0 / block.attn.scale  # query: logit = 20 * LN(x_key)[0]
                w[d + h * hd, 0] = 1.0  # key: channel 0 of the normed token
    cap = capture_backbone(model, torch.randn(IMG))
    stats = layer_statistics(cap)
    assert min(stats['cls_attention_share']) > 0.999
    assert min(stats['cls_attention_ratio']) > 1000
    maps = attention_maps(cap)
    assert len(maps) == 4 and maps[0].shape == (2, 2, 3)


def test_planted_high_norm_token_is_counted():
    model = build('reg4')
    with torch.no_grad():
        model.pos_embed[0, 4] = 0
        model.pos_embed[0, 4, 0] = 1000.0  # patch token 4 carries a norm ~1000 through the residual stream
    cap = capture_backbone(model, torch.randn(IMG))
    stats = layer_statistics(cap)  # default threshold: 150 (registers paper)
    assert stats['high_norm_count'] == [2] * 4  # one per image, in every layer
    assert stats['high_norm_fraction'] == pytest.approx([1 / 6] * 4)
    assert min(stats['norm_max']) > 900
    assert cap.norms[0][:, cap.num_prefix_tokens + 4].min() > 900
    assert layer_statistics(cap, norm_threshold=2000.0)['high_norm_count'] == [0] * 4
    hist = norm_histograms(cap, bins=10)
    assert len(hist['bin_edges']) == 11 and all(sum(c) == 12 for c in hist['counts'])


@pytest.mark.parametrize('bias, score, sparsity', [(math.inf, 1.0, 0.0), (-math.inf, 0.0, 1.0)])
def test_gate_bias_at_infinity(bias, score, sparsity):
    model = build('gated')
    with torch.no_grad():
        for block in model.blocks:
            block.attn.gate.bias.fill_(bias)
    stats = layer_statistics(capture_backbone(model, torch.randn(IMG)))
    assert stats['gate_score_mean'] == [score] * 4
    assert stats['gate_sparsity'] == [sparsity] * 4


def test_cbs_scale_per_depth():
    model = build('cb', cb_mode='cbs')  # CB_s in the upper half: blocks 2 and 3
    with torch.no_grad():
        model.blocks[2].mlp.cb.scale.copy_(torch.linspace(0, 2, 32))
        model.blocks[3].mlp.cb.scale.fill_(0.5)
    stats = layer_statistics(capture_backbone(model, torch.randn(IMG)))
    assert stats['cbs_scale_mean'][:2] == [None, None]
    assert stats['cbs_scale_mean'][2:] == pytest.approx([1.0, 0.5])
    assert stats['cbs_scale_ratio'][2] == pytest.approx(0.2 / 1.8, rel=1e-2)
    assert stats['cbs_scale_ratio'][3] == pytest.approx(1.0)


def test_probing_leaves_the_model_as_it_was():
    model = build('edit', out_indices=(1,), drop_path_rate=0.1)
    model.train()
    x = torch.randn(IMG)
    model.eval()
    before = model(x)[0]
    model.train()
    cap = capture_backbone(model, x)
    assert model.training and model.out_indices == [1]
    assert all(not m.expose_maps for m in model.modules() if hasattr(m, 'expose_maps'))
    assert all(not m._forward_hooks for m in model.modules())
    assert len(cap.decoder) == 4 and cap.decoder[0].shape == (2, 1, 7)
    model.eval()
    assert torch.equal(model(x)[0], before)
    assert summarize(layer_statistics(cap))['entropy_mean'] > 0
