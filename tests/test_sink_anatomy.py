"""Sink anatomy: per-head statistics against hand computations, constructed sinks of each kind, the rebuild
check for every family, outlier statistics and register ablation."""
import json
import math

import numpy as np
import pytest
import torch
from mmengine.registry import MODELS

from conftest import perturb_
from mmedit_vit.analysis import outlier_stats as ol
from mmedit_vit.analysis import sink_anatomy as sa
from mmedit_vit.analysis.block_internals import anatomy
from mmedit_vit.analysis.layer_stats import layer_statistics
from mmedit_vit.analysis.probes import capture_backbone
from mmedit_vit.apis.register_ablation import RegisterAblation

pytestmark = pytest.mark.usefixtures('one_thread')

# mutually orthogonal, zero-mean, unit-variance: LayerNorm leaves them (almost) unchanged
CLS = [1., -1., 1., -1., 1., -1., 1., -1.]
REG0 = [1., 1., -1., -1., 1., 1., -1., -1.]
REG1 = [1., 1., 1., 1., -1., -1., -1., -1.]


# ------------------------------------------------------------------------------------ definitions by hand
def test_one_head_statistics_equal_a_hand_computation():
    attn = torch.tensor([[[[0.6, 0.3, 0.1], [0.7, 0.2, 0.1], [0.5, 0.4, 0.1]]]])  # (1, 1, 3, 3)
    values = torch.tensor([[[[3., 4.], [1., 0.], [0., 2.]]]])  # norms 5, 1, 2
    proj = torch.tensor([[2., 0.], [0., 1.]])
    ls = torch.tensor([1., 0.5])
    s = sa.head_statistics(attn, values, proj, ls)
    # column means 0.6 / 0.3 / 0.1: the dominant key is 0; it takes 0.6, 0.7, 0.5 of the three queries
    assert s['sink_idx'].item() == 0
    assert s['mass'].item() == pytest.approx(0.6)
    assert s['routed_frac'].item() == 1.0 and s['min_a'].item() == pytest.approx(0.5)
    assert s['ratio_head'].item() == pytest.approx(5 / 1.5)
    # u_j = ls * (W v_j): (6, 2), (2, 0), (0, 1)
    assert s['ratio_out'].item() == pytest.approx(math.sqrt(40) / 1.5, rel=1e-6)
    u = np.array([[6., 2.], [2., 0.], [0., 1.]])
    U = attn[0, 0].double().numpy() @ u
    sv = np.linalg.svd(U, compute_uv=False)
    assert s['stable_rank'].item() == pytest.approx((sv ** 2).sum() / sv[0] ** 2, rel=1e-6)


def test_per_head_slices_of_the_output_projection():
    torch.manual_seed(1)
    B, H, N, hd = 2, 3, 5, 2
    attn = torch.rand(B, H, N, N).softmax(-1)
    values = torch.randn(B, H, N, hd)
    proj = torch.randn(H * hd, H * hd)
    ls = torch.rand(H * hd)
    gate = torch.rand(B, N, H, hd)
    s = sa.head_statistics(attn, values, proj, ls, gate)
    for b in range(B):
        for h in range(H):
            a = attn[b, h].double().numpy()
            col = a.mean(0)
            k = int(col.argmax())
            u = (values[b, h].double().numpy() @ proj[:, h * hd:(h + 1) * hd].double().numpy().T) * ls.double().numpy()
            norms_u = np.linalg.norm(u, axis=1)
            norms_v = np.linalg.norm(values[b, h].double().numpy(), axis=1)
            others = [j for j in range(N) if j != k]
            assert s['sink_idx'][b, h].item() == k
            assert s['routed_frac'][b, h].item() == pytest.approx((a[:, k] >= 0.5).mean())
            assert s['ratio_head'][b, h].item() == pytest.approx(norms_v[k] / norms_v[others].mean(), rel=1e-5)
            assert s['ratio_out'][b, h].item() == pytest.approx(norms_u[k] / norms_u[others].mean(), rel=1e-5)
            sv = np.linalg.svd(a @ u, compute_uv=False)
            assert s['stable_rank'][b, h].item() == pytest.approx((sv ** 2).sum() / sv[0] ** 2, rel=1e-5)
            assert s['gate_sink'][b, h].item() == pytest.approx(gate[b, k, h].mean().item(), rel=1e-6)


def test_rules_kinds_and_counts():
    routed = np.array([[[[0.95]], [[0.95]]], [[[0.5]], [[1.0]]]])  # (images 2, blocks 2, windows 1, heads 1)
    min_a = np.array([[[[0.4]], [[0.85]]], [[[0.1]], [[0.95]]]])
    ratio = np.array([[[[0.1]], [[0.7]]], [[[0.3]], [[0.3]]]])
    sink_idx = np.array([[[[0]], [[2]]], [[[3]], [[5]]]])
    relaxed = sa.sink_events(routed, min_a)
    assert relaxed.ravel().tolist() == [True, True, False, True]
    assert sa.sink_events(routed, min_a, 'eps', 0.2).ravel().tolist() == [False, True, False, True]
    with pytest.raises(ValueError, match='eps=0.6'):
        sa.sink_events(routed, min_a, 'eps', 0.6)
    with pytest.raises(ValueError, match='sink rule'):
        sa.sink_events(routed, min_a, 'strict')
    kinds = sa.token_kind(sink_idx, 0, 1, 2, num_keys=8)  # [CLS] 0, registers 1..2, patches 3..
    # block 0 left out: image 0 has a broadcast event on a register, image 1 one in between on a patch
    c = sa.count_events(relaxed, ratio, kinds)
    assert c == dict(total=1.0, broadcast=0.5, nop=0.0, on_cls=0.0, on_register=0.5, on_patch=0.5)
    c0 = sa.count_events(relaxed, ratio, kinds, include_block0=True)
    assert c0['total'] == 1.5 and c0['nop'] == 0.5 and c0['on_cls'] == 0.5
    assert sa.per_block_counts(relaxed, ratio) == dict(total=[0.5, 1.0], broadcast=[0.0, 0.5], nop=[0.5, 0.0])
    # EDIT's decoder: the previous [CLS] is the last key
    assert sa.token_kind(np.array([4, 0, 2]), -1, 0, 1, num_keys=5)['on_cls'].tolist() == [True, False, False]
    # block 0: one NOP event, one image without: a tie goes to the first kind (no event)
    assert sa.cell_kinds(relaxed, ratio).tolist() == [[0], [1]]
    assert sa.cell_kinds(relaxed[:1], ratio[:1]).tolist() == [[2], [1]]
    table = sa.markdown_table([dict(model='m', rule='relaxed', images=2, **dict(c, on_register=None))])
    assert table.splitlines()[-1] == '| m | relaxed | 2 | 1.00 | 0.50 | 0.00 | 0.00 | - | 0.50 |'


# ------------------------------------------------------------------------------- constructed sinks
def constructed_vit(target: str, value_gain: float, key_gain: float = 1.0, **kwargs):
    """One block, 4 zero patch tokens, [CLS] (and registers) at orthogonal directions. Every query's logits
    route it to ``target`` ('cls', 'reg0') with ``key_gain``; every value is the bias b except the target's,
    (1 + value_gain) b: -1 gives a zero value (NOP), 9 ten times b (broadcast); key_gain 0 is uniform."""
    registers = kwargs.pop('num_registers', 0)
    vit = MODELS.build(dict(type='PlainViT', arch=dict(embed_dims=8, num_heads=2, depth=1), img_size=32,
                            patch_size=16, layer_scale_init=None, num_registers=registers, **kwargs))
    direction = torch.tensor({'cls': CLS, 'reg0': REG0}[target])
    with torch.no_grad():
        for p in vit.parameters():
            p.zero_()
        for norm in (vit.blocks[0].norm1, vit.blocks[0].norm2, vit.norm):
            norm.weight.fill_(1.)
        vit.cls_token.copy_(torch.tensor(CLS))
        if registers:
            vit.reg_token.copy_(torch.tensor([REG0, REG1][:registers]))
        qkv = vit.blocks[0].attn.qkv
        qkv.bias[:8] = 1.  # every query is the ones vector
        qkv.weight[8:16] = key_gain * torch.ones(8, 1) * direction / 8  # keys: gain * (t . h) * ones
        b = torch.arange(1., 9.)
        qkv.bias[16:] = b
        qkv.weight[16:] = value_gain * b[:, None] * direction / 8  # the target's value (1 + gain) b
        vit.blocks[0].attn.proj.weight.copy_(torch.eye(8))
    return vit.eval()


def anatomy_of(vit, images=None):
    images = torch.randn(2, 3, 32, 32) if images is None else images
    cap = capture_backbone(vit, images, internals=True)
    return anatomy(vit, cap)


@pytest.mark.parametrize('value_gain,kind', [(-1., 'nop'), (9., 'broadcast')])
def test_constructed_sink_on_cls_is_classified_as_built(value_gain, kind):
    anat = anatomy_of(constructed_vit('cls', value_gain, key_gain=4.))
    a = anat['arrays']
    assert a['sink_idx'].shape == (2, 1, 1, 2) and (a['sink_idx'] == 0).all()
    assert (a['mass'] > 0.99).all() and (a['routed_frac'] == 1).all() and (a['min_a'] > 0.99).all()
    expected_ratio = 0.0 if kind == 'nop' else 10.0
    np.testing.assert_allclose(a['ratio_head'], expected_ratio, atol=1e-5)
    kinds = sa.token_kind(a['sink_idx'], 0, 1, 0, anat['num_keys'])
    events = sa.sink_events(a['routed_frac'], a['min_a'], 'eps', 0.1)
    c = sa.count_events(events, a['ratio_head'], kinds, include_block0=True)
    assert c['total'] == 2 and c[kind] == 2 and c['on_cls'] == 2 and c['on_patch'] == 0
    assert c['nop' if kind == 'broadcast' else 'broadcast'] == 0
    assert max(anat['rebuild_error']) < 1e-6


def test_uniform_attention_is_no_event():
    a = anatomy_of(constructed_vit('cls', 9., key_gain=0.))['arrays']
    np.testing.assert_allclose(a['mass'], 1 / 5, rtol=1e-6)  # [CLS] + 4 patches
    assert (a['routed_frac'] == 0).all()
    assert not sa.sink_events(a['routed_frac'], a['min_a']).any()


def test_constructed_sink_on_a_register():
    anat = anatomy_of(constructed_vit('reg0', -1., key_gain=4., num_registers=2))
    a = anat['arrays']
    assert (a['sink_idx'] == 1).all() and (a['routed_frac'] == 1).all()
    np.testing.assert_allclose(a['ratio_head'], 0.0, atol=1e-5)
    kinds = sa.token_kind(a['sink_idx'], anat['cls_index'], anat['register_start'], anat['num_registers'],
                          anat['num_keys'])
    c = sa.count_events(sa.sink_events(a['routed_frac'], a['min_a']), a['ratio_head'], kinds, include_block0=True)
    assert c['on_register'] == 2 and c['nop'] == 2 and c['on_cls'] == 0


def test_constructed_sink_on_the_edit_decoders_previous_cls():
    vit = MODELS.build(dict(type='EDITViT', arch=dict(embed_dims=8, num_heads=2, depth=1), img_size=32,
                            layer_scale_init=None))
    with torch.no_grad():
        for p in vit.parameters():
            p.zero_()  # the encoder leaves the zero patch tokens at zero
        for norm in (vit.blocks[0].norm1, vit.blocks[0].norm2, vit.decoder.norm_src, vit.decoder.norm):
            norm.weight.fill_(1.)
        cls = torch.tensor(CLS)
        vit.cls_token.copy_(cls)
        kv = vit.decoder.kv
        kv.weight[:8] = 3 * torch.outer(cls, cls) / 8  # [CLS]'s own key 3 cls: logit 3 * 8 / sqrt(8)
        kv.bias[8:] = 1.  # values: ones, [CLS]'s own value ones + 5 cls
        kv.weight[8:] = 5 * torch.eye(8)
    anat = anatomy_of(vit.eval())
    d = anat['decoder_arrays']
    assert d['sink_idx'].shape == (2, 1, 1, 1) and (d['sink_idx'] == 4).all()  # 4 patches, then [CLS]
    p = math.exp(3 * math.sqrt(8)) / (math.exp(3 * math.sqrt(8)) + 4)
    np.testing.assert_allclose(d['mass'], p, rtol=1e-5)
    np.testing.assert_allclose(d['ratio_head'], math.sqrt(26), rtol=1e-5)  # |5 cls + 1| / |1|
    kinds = sa.token_kind(d['sink_idx'], -1, 0, 0, anat['num_keys'] + 1)
    assert kinds['on_cls'].all()
    assert max(anat['decoder_rebuild_error']) < 1e-6 and max(anat['rebuild_error']) < 1e-6
    assert np.allclose(d['stable_rank'], 1.0)  # one query: a rank-one update


# ---------------------------------------------------------------------------------- the rebuild check
FAMILIES = {
    'plain': dict(type='PlainViT'),
    'registers': dict(type='PlainViT', num_registers=2),
    'gated_elementwise': dict(type='GatedViT'),
    'gated_headwise': dict(type='GatedViT', gate='headwise'),
    'gated_value': dict(type='GatedViT', gate='headwise', gate_position='value'),
    'gated_value_elementwise': dict(type='GatedViT', gate_position='value'),
    'cb': dict(type='CBViT'),
    'cb_s': dict(type='CBViT', cb_mode='cbs'),
    'no_layerscale': dict(type='PlainViT', layer_scale_init=None),
    'edit': dict(type='EDITViT', num_registers=2),
    'windowed_relpos': dict(type='PlainViT', num_registers=1, window_size=2, global_attn_indexes=[1], rel_pos=True),
    'windowed_global_blocks': dict(type='GatedViT', window_size=2, global_attn_indexes=[0], rel_pos=True,
                                   prefix_in_windows='global_blocks'),
    'windowed_edit': dict(type='EDITViT', window_size=2, global_attn_indexes=[1], rel_pos=True),
}


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_every_block_is_rebuilt_from_its_captured_internals(family):
    cfg = dict(FAMILIES[family], arch=dict(embed_dims=32, num_heads=4, depth=2), img_size=48, patch_size=16)
    vit = perturb_(MODELS.build(cfg), scale=0.3, weights=True).eval()
    images = torch.randn(2, 3, 48, 48)  # a 3 x 3 grid: windowed blocks pad it to 4 x 4
    cap = capture_backbone(vit, images, internals=True)
    anat = anatomy(vit, cap)
    assert len(anat['rebuild_error']) == 2 and max(anat['rebuild_error']) < 1e-6
    a = anat['arrays']
    heads = 4
    windows = 4 if vit.window_size else 1
    assert a['mass'].shape == (2, 2, windows, heads)
    if vit.window_size:  # the windowed block has 4 windows; the global block fills window 0 only
        windowed = vit.windowed_blocks[0]
        # the bottom-right window holds one token: without prefix keys it has no choice and is not measured
        single = vit.num_prefix_tokens == 0 or vit.prefix_in_windows == 'global_blocks'
        assert np.isfinite(a['mass'][:, windowed, :3]).all()
        assert np.isnan(a['mass'][:, windowed, 3]).all() == single
        glob = 1 - windowed
        assert np.isnan(a['mass'][:, glob, 1:]).all() and (a['sink_idx'][:, glob, 1:] == -1).all()
    assert ('gate_sink' in a) == (vit.blocks[0].attn.gate is not None)
    if 'gate_sink' in a:
        g = a['gate_sink'][np.isfinite(a['mass'])]
        assert g.size and ((g > 0) & (g < 1)).all()
    if vit.decoder is not None:
        assert max(anat['decoder_rebuild_error']) < 1e-6
        assert anat['decoder_arrays']['mass'].shape == (2, 2, 1, 1)


def test_the_rebuild_check_sees_internals_that_are_not_the_models():
    vit = perturb_(MODELS.build(dict(type='GatedViT', arch=dict(embed_dims=16, num_heads=2, depth=2), img_size=32)),
                   scale=0.3, weights=True).eval()
    cap = capture_backbone(vit, torch.randn(2, 3, 32, 32), internals=True)
    cap.internals['values'][1] = cap.internals['values'][1] * 1.01
    cap.gates[0] = cap.gates[0].flip(1)  # the gate scores of other tokens
    errors = anatomy(vit, cap)['rebuild_error']
    assert errors[0] > 1e-4 and errors[1] > 1e-4


def test_windowed_statistics_are_those_of_each_window():
    vit = perturb_(MODELS.build(dict(type='PlainViT', arch=dict(embed_dims=16, num_heads=2, depth=1), img_size=64,
                                     window_size=2, num_registers=1)), weights=True).eval()
    cap = capture_backbone(vit, torch.randn(1, 3, 64, 64), internals=True)
    a = anatomy(vit, cap)['arrays']
    attn = cap.attentions[0][0]  # (heads, 18, 18): [CLS], a register, a 4 x 4 grid
    # window 1 holds the patches (0, 2), (0, 3), (1, 2), (1, 3): tokens 4, 5, 8, 9 after the 2 prefix tokens
    members = [2 + 2, 2 + 3, 2 + 6, 2 + 7]
    keys = [0, 1] + members
    sub = attn[:, members][:, :, keys]
    assert torch.allclose(sub.sum(-1), torch.ones(2, 4))
    expected = sa.dominant_column(sub)
    np.testing.assert_allclose(a['mass'][0, 0, 1], expected['mass'].numpy(), rtol=1e-6)
    assert a['sink_idx'][0, 0, 1].tolist() == [keys[i] for i in expected['sink_idx'].tolist()]


def test_scale_norm_is_refused():
    vit = MODELS.build(dict(type='PlainViT', arch=dict(embed_dims=16, num_heads=2, depth=1), img_size=32))
    vit.blocks[0].attn.norm = torch.nn.LayerNorm(16)
    cap = capture_backbone(vit, torch.randn(1, 3, 32, 32), internals=True)
    with pytest.raises(ValueError, match='scale_norm'):
        anatomy(vit, cap)
    with pytest.raises(ValueError, match='internals=True'):
        anatomy(vit, capture_backbone(vit, torch.randn(1, 3, 32, 32)))


# ------------------------------------------------------------------------------------------- outliers
def test_planted_outlier_channel_gives_the_hand_kurtosis_and_max():
    x = torch.tensor([[[8., 0., 0., 0.], [1., -1., 1., -1.]]])
    # one-hot of height c over C channels: mu4 = c^4 (C-1)((C-1)^3+1)/C^5, s^2 = c^2/C (Bessel): 336 / 256;
    # +-1: mu4 = 1, s^2 = 4/3: 9/16
    assert ol.token_kurtosis(x)[0].tolist() == pytest.approx([336 / 256, 9 / 16], rel=1e-6)
    assert ol.mean_kurtosis(x).item() == pytest.approx((336 / 256 + 9 / 16) / 2, rel=1e-6)
    assert ol.max_abs(x).item() == 8.0
    norms = torch.tensor([[9., 1., 1., 1., 10., 2.]])  # [CLS] first; patch median 1 (lower middle)
    assert ol.relative_high_norm(norms, 1, ratio=4).tolist() == [[False, False, False, True, False]]
    assert ol.relative_high_norm_fraction(norms, 1, ratio=1.5).item() == pytest.approx(2 / 5)
    with pytest.raises(ValueError, match='norm ratio'):
        ol.relative_high_norm(norms, 1, ratio=0)


def test_captured_outlier_statistics_are_the_models():
    vit = perturb_(MODELS.build(dict(type='PlainViT', arch=dict(embed_dims=16, num_heads=2, depth=2), img_size=32)),
                   weights=True).eval()
    hidden = []
    vit.blocks[1].mlp.act.register_forward_hook(lambda _, __, out: hidden.append(out))
    cap = capture_backbone(vit, torch.randn(2, 3, 32, 32), internals=True)
    out = cap.internals['outputs'][1]
    stats = layer_statistics(cap, norm_ratio=2.0)
    assert stats['kurtosis'][1] == pytest.approx(ol.token_kurtosis(out).mean().item(), rel=1e-6)
    assert stats['block_max_abs'][1] == pytest.approx(out.abs().max().item())
    assert stats['mlp_max_abs'][1] == pytest.approx(hidden[0].abs().max().item())
    assert stats['rel_high_norm_fraction'][1] == pytest.approx(
        ol.relative_high_norm_fraction(out.norm(dim=-1), 1, 2.0).item())


# ------------------------------------------------------------------------------------ register ablation
def register_vit(depth=2):
    return perturb_(MODELS.build(dict(type='PlainViT', arch=dict(embed_dims=16, num_heads=2, depth=depth),
                                      img_size=32, num_registers=2)), scale=0.5, weights=True).eval()


def block_outputs(vit, images, block):
    out = []
    handle = vit.blocks[block].register_forward_hook(lambda _, __, o: out.append(o))
    with torch.no_grad():
        final = vit(images)[0]
    handle.remove()
    return out[0], final


@pytest.mark.parametrize('mode', ['zero', 'mean', 'noise', 'shuffle'])
def test_each_ablation_replaces_exactly_the_registers(mode):
    vit = register_vit()
    images = torch.randn(3, 3, 32, 32)
    clean, _ = block_outputs(vit, images, 1)
    ablation = RegisterAblation(vit, blocks=[1], seed=3)
    ablation.calibrate([images[:2], images[2:]])
    assert ablation.calibration_images == 3
    with ablation.applied(mode):
        ablated, _ = block_outputs(vit, images, 1)
    regs = slice(1, 3)  # [CLS], then 2 registers
    assert torch.equal(ablated[:, 0], clean[:, 0]) and torch.equal(ablated[:, 3:], clean[:, 3:])
    mean = clean[:, regs].double().mean(0).float()
    if mode == 'zero':
        assert (ablated[:, regs] == 0).all()
    elif mode == 'mean':
        torch.testing.assert_close(ablated[:, regs], mean.expand(3, -1, -1))
    elif mode == 'shuffle':
        assert torch.equal(ablated[:, regs], clean[:, regs].roll(1, 0))
    else:
        std = clean[:, regs].double().std(0, unbiased=False).float()
        z = (ablated[:, regs] - mean) / std
        assert not torch.allclose(ablated[:, regs], mean) and z.abs().max() < 6
    with torch.no_grad():  # the hooks are gone after the context
        assert torch.equal(block_outputs(vit, images, 1)[0], clean)


def test_mean_over_a_calibration_set_of_one_image_reproduces_the_clean_output():
    vit = register_vit(depth=3)
    image = torch.randn(1, 3, 32, 32)
    _, clean = block_outputs(vit, image, 0)
    ablation = RegisterAblation(vit)  # every block
    ablation.calibrate([image])
    for mode in ('mean', 'noise'):  # one image: zero spread, the noise is the mean too
        with ablation.applied(mode):
            _, ablated = block_outputs(vit, image, 0)
        torch.testing.assert_close(ablated, clean, rtol=1e-6, atol=1e-6)
    with ablation.applied('zero'):
        assert not torch.allclose(block_outputs(vit, image, 0)[1], clean)


def test_ablation_refuses_models_without_registers_and_bad_input():
    plain = MODELS.build(dict(type='PlainViT', arch=dict(embed_dims=16, num_heads=2, depth=2), img_size=32))
    with pytest.raises(ValueError, match='no register tokens'):
        RegisterAblation(plain)
    vit = register_vit()
    with pytest.raises(ValueError, match=r'\[0, 1\]'):
        RegisterAblation(vit, blocks=[2])
    ablation = RegisterAblation(vit)
    with pytest.raises(ValueError, match='calibrate'), ablation.applied('mean'):
        vit(torch.randn(2, 3, 32, 32))
    with pytest.raises(ValueError, match='at least 2 images'), ablation.applied('shuffle'):
        vit(torch.randn(1, 3, 32, 32))
    with pytest.raises(ValueError, match='not known'), ablation.applied('drop'):
        pass


def test_test_cli_checks_the_ablation_options():
    from mmedit_vit.apis import test_cli
    with pytest.raises(SystemExit, match='--ablate-blocks needs'):
        test_cli.main(['cfg.py', 'ckpt.pth', '--ablate-blocks', '1'])
    with pytest.raises(SystemExit, match=r"\['--tta'\]"):
        test_cli.main(['cfg.py', 'ckpt.pth', '--ablate-registers', 'zero', '--tta'])
    args = test_cli.parse_args(['cfg.py', 'ckpt.pth', '--ablate-registers', 'zero', 'mean', '--ablate-blocks', '3'])
    assert args.ablate_registers == ['zero', 'mean'] and args.ablate_blocks == [3] and args.ablate_calibration == 64


# ------------------------------------------------------------------------------------- the tool, end to end
def test_analyze_writes_the_sink_table_arrays_and_plots(tmp_path):
    from PIL import Image

    from mmedit_vit.apis import analyze
    folder = tmp_path / 'images'
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(folder / f'im{i}.png')
    configs = []
    for name, extra in (('reg', 'num_registers=2'), ('edit', "type='EDITViT'")):
        path = tmp_path / f'{name}.py'
        kind = '' if 'type' in extra else "type='PlainViT', "
        path.write_text(f"model = dict({kind}{extra}, arch=dict(embed_dims=16, num_heads=2, depth=3), img_size=32)\n")
        configs.append(str(path))
    out = tmp_path / 'out'
    analyze.main(configs + ['--random-init', '--images', str(folder), '--out', str(out), '--img-size', '32',
                            '--sink-rule', 'eps', '--eps', '0.5', '0.2', '--include-block0'])
    table = json.loads((out / 'sink_table.json').read_text())
    assert [(r['model'], r['rule']) for r in table['rows']] == [
        ('reg', 'eps=0.5'), ('reg', 'eps=0.2'), ('edit', 'eps=0.5'), ('edit', 'eps=0.2'),
        ('edit (decoder)', 'eps=0.5'), ('edit (decoder)', 'eps=0.2')]
    assert table['include_block0'] and table['rows'][0]['images'] == 2
    assert table['rows'][2]['on_cls'] is None and table['rows'][4]['on_cls'] is not None
    md = (out / 'sink_table.md').read_text()
    assert '| reg | eps=0.5 | 2 |' in md and 'blocks 0..L-1' in md
    z = np.load(out / 'sink_anatomy_edit.npz')
    assert z['mass'].shape == (2, 3, 1, 2) and z['decoder_mass'].shape == (2, 3, 1, 1)
    assert [n.rsplit('/', 1)[-1] for n in z['image_names'].tolist()] == ['im0.png', 'im1.png']
    assert not z['cls_in_sequence']
    metrics = json.loads((out / 'metrics.json').read_text())
    for m in metrics['models'].values():
        assert max(m['rebuild_error']) < 1e-6
        assert {'kurtosis', 'block_max_abs', 'mlp_max_abs', 'rel_high_norm_fraction'} <= set(m['layers'])
    assert metrics['settings']['norm_ratio'] == 4.0
    for png in ('sink_heatmaps.png', 'sink_events_per_block.png', 'layer_curves.png'):
        assert (out / png).stat().st_size > 1000
    with pytest.raises(SystemExit):
        analyze.parse_args(configs + ['--images', str(folder), '--out', str(out), '--sink-rule', 'eps', '--eps', '0.7'])


# ---------------------------------------------------------------------- tools/test.py --ablate-registers (slow)
def _untrained_with_registers(config: str, scope: str, path: str) -> str:
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    cfg = Config.fromfile(config)
    cfg.model.backbone.num_registers = 2
    with DefaultScope.overwrite_default_scope(scope):
        model = MODELS.build(cfg.model)
    model.init_weights()
    perturb_(model.backbone, scale=0.2)  # registers and LayerScale away from their near-zero init
    torch.save(dict(state_dict=model.state_dict(), meta={}), path)
    return path


def _ablation_cases():
    import os.path as osp

    from seg_helpers import DEMO_CONFIG, ROOT
    demo = osp.join(ROOT, 'configs', 'demo')
    return {'classification': (osp.join(demo, 'cls_edit_t_synthetic.py'), 'mmedit_vit', 'accuracy/top1'),
            'segmentation': (DEMO_CONFIG, 'mmseg', 'mIoU'),
            'detection': (osp.join(demo, 'maskrcnn_edit_t_synthetic_coco.py'), 'mmdet', 'coco/bbox_mAP')}


@pytest.mark.slow
@pytest.mark.parametrize('task', ['classification', 'segmentation', 'detection'])
def test_test_py_reports_each_ablation_beside_the_clean_metric(tmp_path, task):
    from mmedit_vit.datasets import make_synthetic_ade20k, make_synthetic_coco, make_synthetic_folder
    from seg_helpers import run_tool
    config, scope, metric = _ablation_cases()[task]
    if task == 'classification':
        data = str(tmp_path / 'cls')
        make_synthetic_folder(data, num_classes=4, train_per_class=1, val_per_class=2, size=48)
        opts = [f'test_dataloader.dataset.data_root={data}']
    elif task == 'segmentation':
        data = make_synthetic_ade20k(str(tmp_path / 'ade'), num_train=1, num_val=4, size=(64, 80))
        opts = [f'test_dataloader.dataset.data_root={data}', 'test_dataloader.num_workers=0',
                'test_dataloader.persistent_workers=False']
    else:
        data = make_synthetic_coco(str(tmp_path / 'coco'), num_train=1, num_val=2, size=(64, 80)) + '/'
        opts = [f'test_dataloader.dataset.data_root={data}',
                f'test_evaluator.ann_file={data}annotations/instances_val2017.json']
    opts += ['model.backbone.num_registers=2', 'test_dataloader.batch_size=2']
    ckpt = _untrained_with_registers(config, scope, str(tmp_path / 'model.pth'))
    work = tmp_path / 'work'
    proc = run_tool(['tools/test.py', config, ckpt, '--work-dir', str(work), '--ablate-registers', 'zero', 'mean',
                     'noise', 'shuffle', '--ablate-calibration', '2', '--cfg-options'] + opts)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    report = json.loads((work / 'register_ablation.json').read_text())
    assert report['metric'] == metric and report['calibration_images'] == 2
    assert list(report['ablated']) == ['zero', 'mean', 'noise', 'shuffle'] and metric in report['clean']
    assert all(metric in m for m in report['ablated'].values())
    if task == 'classification':  # a model without registers is refused by name
        plain = run_tool(['tools/test.py', config, ckpt, '--ablate-registers', 'zero', '--cfg-options'] +
                         opts[:-2])
        assert plain.returncode != 0 and 'no register tokens' in plain.stderr
