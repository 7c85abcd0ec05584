"""The backbone family: outputs, variants reducing to the baseline, parameter deltas, bad arguments."""
import pytest
import torch

from conftest import perturb_
from mmedit_vit.converters import convert_vit_state_dict
from mmedit_vit.models import CBViT, EDITViT, GatedViT, PlainViT

TINY = dict(arch=dict(embed_dims=48, num_heads=3, depth=4), img_size=64, patch_size=16)


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def copy_weights(src, dst, missing_ok=()):
    dst.load_state_dict(convert_vit_state_dict(src.state_dict(), dst, missing_ok=missing_ok).state_dict)
    return dst


@pytest.mark.parametrize('cls', [PlainViT, GatedViT, CBViT, EDITViT])
def test_output_contract(cls):
    model = cls(**TINY, out_indices=(0, 2, 3), num_registers=2).eval()
    outs = model(torch.randn(2, 3, 64, 64))
    assert isinstance(outs, tuple) and len(outs) == 3
    assert all(o.shape == (2, 48, 4, 4) for o in outs)


@pytest.mark.parametrize('cls', [PlainViT, EDITViT])
def test_any_input_size_is_padded_and_resampled(cls):
    model = cls(**TINY).eval()
    assert model(torch.randn(1, 3, 100, 120))[0].shape == (1, 48, 7, 8)
    assert model(torch.randn(1, 3, 224, 96))[0].shape == (1, 48, 14, 6)


def test_outputs_follow_out_indices_order_and_stop_at_the_deepest():
    model = perturb_(PlainViT(**TINY, out_indices=(2, 0, -1))).eval()
    x = torch.randn(1, 3, 64, 64)
    out2, out0, out3 = model(x)
    reference = PlainViT(**TINY, out_indices=(0, 2, 3)).eval()
    reference.load_state_dict(model.state_dict())
    ref0, ref2, ref3 = reference(x)
    assert torch.equal(out0, ref0) and torch.equal(out2, ref2) and torch.equal(out3, ref3)
    calls = []
    shallow = PlainViT(**TINY, out_indices=(1,)).eval()
    shallow.blocks[3].register_forward_hook(lambda *args: calls.append(1))
    shallow(x)
    assert calls == []


def test_padding_is_bottom_right_with_zeros():
    model = PlainViT(**TINY).eval()
    x = torch.randn(1, 3, 100, 120)
    padded = torch.zeros(1, 3, 112, 128)
    padded[..., :100, :120] = x
    torch.testing.assert_close(model(x)[0], model(padded)[0])


def test_without_cls_token_only_patches_and_registers_are_encoded():
    model = PlainViT(**TINY, with_cls_token=False, num_registers=2).eval()
    assert model.cls_token is None and model.num_prefix_tokens == 2
    assert model(torch.randn(1, 3, 64, 64))[0].shape == (1, 48, 4, 4)


def test_out_cls_token_pairs():
    plain = PlainViT(**TINY, out_indices=(1, 3), out_cls_token=True).eval()
    (feat1, cls1), (feat3, cls3) = plain(torch.randn(2, 3, 64, 64))
    assert feat1.shape == (2, 48, 4, 4) and cls1.shape == (2, 48) and cls3.shape == (2, 48)
    edit = EDITViT(**TINY, out_cls_token=True).eval()
    x = torch.randn(2, 3, 64, 64)
    (feat, cls), = edit(x)
    assert cls.shape == (2, 48)


def test_edit_decoder_runs_only_when_its_output_is_returned():
    edit = perturb_(EDITViT(**TINY, out_cls_token=True)).eval()
    maps_only = EDITViT(**TINY).eval()
    maps_only.load_state_dict(edit.state_dict())
    calls = []
    maps_only.decoder.register_forward_hook(lambda *_: calls.append(1))
    x = torch.randn(2, 3, 64, 64)
    assert torch.equal(maps_only(x)[0], edit(x)[0][0])  # the patch maps do not depend on the decoder
    assert calls == []
    unused = {'cls_token'} | {'decoder.' + n for n, _ in maps_only.decoder.named_parameters()}
    assert {n for n, p in maps_only.named_parameters() if not p.requires_grad} == unused
    assert all(p.requires_grad for p in edit.parameters())


def test_final_norm_is_timm_forward_features_norm():
    x = torch.randn(1, 3, 64, 64)
    with_norm = perturb_(PlainViT(**TINY)).eval()
    without = PlainViT(**TINY, final_norm=False).eval()
    without.load_state_dict({k: v for k, v in with_norm.state_dict().items() if not k.startswith('norm.')})
    raw = without(x)[0]
    tokens = raw.flatten(2).transpose(1, 2)
    expected = with_norm.norm(tokens).transpose(1, 2).reshape(raw.shape)
    torch.testing.assert_close(with_norm(x)[0], expected)
    assert not torch.allclose(raw, expected)


def test_no_gate_and_no_cb_reduce_exactly_to_plain():
    x = torch.randn(2, 3, 64, 64)
    plain = perturb_(PlainViT(**TINY)).eval()
    for variant in (GatedViT(**TINY, gate='none'), CBViT(**TINY, cb_layers=()), PlainViT(**TINY, cb_layers=())):
        copy_weights(plain, variant.eval())
        assert torch.equal(variant(x)[0], plain(x)[0])


@pytest.mark.parametrize('gate', ['headwise', 'elementwise'])
@pytest.mark.parametrize('position', ['sdpa', 'value'])
def test_gate_bias_to_infinity_equals_ungated_model(gate, position):
    x = torch.randn(2, 3, 64, 64)
    plain = perturb_(PlainViT(**TINY)).eval()
    gated = copy_weights(plain, GatedViT(**TINY, gate=gate, gate_position=position).eval(), missing_ok=['gate'])
    assert not torch.allclose(gated(x)[0], plain(x)[0])
    with torch.no_grad():
        for block in gated.blocks:
            block.attn.gate.bias.fill_(float('inf'))
    assert torch.equal(gated(x)[0], plain(x)[0])


@pytest.mark.parametrize('arch,d,h', [('tiny', 192, 3), ('small', 384, 6), ('base', 768, 12)])
def test_parameter_deltas(arch, d, h):
    base = n_params(PlainViT(arch=arch))
    assert n_params(GatedViT(arch=arch, gate='headwise')) - base == 12 * (d * h + h)
    assert n_params(GatedViT(arch=arch, gate='elementwise')) - base == 12 * (d * d + d)
    assert n_params(PlainViT(arch=arch, num_registers=4)) - base == 4 * d
    assert n_params(CBViT(arch=arch)) - base == 0
    assert n_params(CBViT(arch=arch, cb_mode='cbs')) - base == 6 * d
    # EDIT: shared key/value projection (2d^2 + 2d) and two LayerNorms (4d)
    assert n_params(EDITViT(arch=arch)) - base == 2 * d * d + 2 * d + 4 * d


def test_cb_default_layers_are_the_upper_half():
    model = CBViT(arch='small')
    assert model.cb_layers == list(range(6, 12))
    assert [hasattr(b.mlp, 'cb') for b in model.blocks] == [False] * 6 + [True] * 6
    assert CBViT(**TINY).cb_layers == [2, 3]


def test_cb_changes_the_function():
    x = torch.randn(2, 3, 64, 64)
    plain = perturb_(PlainViT(**TINY)).eval()
    cb = copy_weights(plain, CBViT(**TINY).eval())
    assert not torch.allclose(cb(x)[0], plain(x)[0])


def test_registers_never_appear_in_outputs():
    x = torch.randn(2, 3, 64, 64)
    model = perturb_(PlainViT(**TINY, num_registers=3, out_indices=(0, 3)), weights=True).eval()
    outs = model(x)
    assert all(o.shape == (2, 48, 4, 4) for o in outs)
    assert model.num_prefix_tokens == 4
    # registers take part in attention: changing them changes the patch features
    with torch.no_grad():
        model.reg_token.add_(torch.randn_like(model.reg_token))
    assert (model(x)[1] - outs[1]).abs().max() > 1e-3


def test_edit_patch_maps_ignore_cls_and_decoder():
    x = torch.randn(2, 3, 64, 64)
    model = perturb_(EDITViT(**TINY, out_indices=(0, 1, 2, 3), out_cls_token=True)).eval()
    before = model(x)
    with torch.no_grad():
        model.cls_token.add_(torch.randn_like(model.cls_token))
        for p in model.decoder.parameters():
            p.add_(torch.randn_like(p))
    after = model(x)
    for (feat0, cls0), (feat1, cls1) in zip(before, after):
        assert torch.equal(feat0, feat1)
        assert not torch.allclose(cls0, cls1)


def test_edit_decoder_is_shared_and_runs_one_step_per_depth():
    model = EDITViT(**TINY, out_cls_token=True).eval()
    calls = []
    model.decoder.register_forward_hook(lambda module, args, out: calls.append([tuple(o.shape) for o in out]))
    model(torch.randn(1, 3, 64, 64))
    assert calls == [[(1, 1, 48)] * 4]  # one pass over the 4 depths, one [CLS] per depth
    assert sum(1 for m in model.modules() if type(m).__name__ == 'EDITDecoderLayer') == 1


def test_edit_composes_with_gate_and_registers():
    model = EDITViT(**TINY, gate='headwise', num_registers=4).eval()
    assert model.num_prefix_tokens == 4 and model.blocks[0].attn.gate is not None
    assert model(torch.randn(1, 3, 64, 64))[0].shape == (1, 48, 4, 4)


def test_frozen_stages():
    model = PlainViT(**TINY, frozen_stages=2)
    model.train()
    assert not model.pos_embed.requires_grad and not model.cls_token.requires_grad
    assert all(not p.requires_grad for p in model.patch_embed.parameters())
    assert all(not p.requires_grad for b in model.blocks[:2] for p in b.parameters())
    assert all(p.requires_grad for b in model.blocks[2:] for p in b.parameters())
    assert not model.blocks[1].training and model.blocks[2].training


def block_drop_rates(model):
    """DropPath rate of every block (the attention and MLP branches share it); 0 where there is none."""
    rates = [(getattr(b.drop_path1, 'drop_prob', 0.0), getattr(b.drop_path2, 'drop_prob', 0.0)) for b in model.blocks]
    assert all(attn == mlp for attn, mlp in rates)
    return [attn for attn, _ in rates]


def test_drop_path_rates_increase_linearly():
    model = PlainViT(**TINY, drop_path_rate=0.3)
    assert block_drop_rates(model) == pytest.approx([0.0, 0.1, 0.2, 0.3])
    assert block_drop_rates(PlainViT(**TINY, drop_path_rate=0.3, drop_path_schedule='linear')) == \
        block_drop_rates(model)


@pytest.mark.parametrize('cls', [PlainViT, EDITViT])
def test_uniform_drop_path_is_deit3_constant_rate(cls):
    """DeiT-III models_v2.py: every block drops its branches with the same rate."""
    model = cls(**TINY, drop_path_rate=0.05, drop_path_schedule='uniform')
    assert block_drop_rates(model) == [0.05] * 4
    assert block_drop_rates(cls(**TINY, drop_path_rate=0.0, drop_path_schedule='uniform')) == [0.0] * 4
    with pytest.raises(ValueError, match=r"drop_path_schedule='cosine'.*\('linear', 'uniform'\)"):
        cls(**TINY, drop_path_rate=0.05, drop_path_schedule='cosine')


@pytest.mark.parametrize('kwargs,match', [
    (dict(gate='sigmoid'), "gate='sigmoid'"),
    (dict(gate='headwise', gate_position='output'), "gate_position='output'"),
    (dict(arch='huge'), "arch='huge'"),
    (dict(arch=dict(embed_dims=48, depth=2)), 'num_heads'),
    (dict(num_registers=-1), 'num_registers=-1'),
    (dict(out_indices=(1, 12)), 'out_indices entry 12'),
    (dict(out_indices=-13), 'out_indices entry -13'),
    (dict(cb_layers=(3, 12)), 'cb_layers entry 12'),
    (dict(cb_layers=(3,), cb_mode='avg'), "cb_mode='avg'"),
    (dict(frozen_stages=13), 'frozen_stages=13'),
    (dict(with_cls_token=False, out_cls_token=True), 'out_cls_token'),
])
def test_bad_arguments_raise_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PlainViT(**dict(dict(arch='small'), **kwargs))


def test_gated_vit_default_is_the_proposals_elementwise_gate():
    """O_final = O * sigmoid(X W_gate + b_gate) with W_gate d x d: one score per channel."""
    d, heads = 48, 3
    default = GatedViT(**TINY)
    for block in default.blocks:
        gate = block.attn.gate
        assert gate.mode == 'elementwise' and gate.weight.shape == (d, d) and gate.bias.shape == (d,)
    headwise = GatedViT(**TINY, gate='headwise')
    assert all(b.attn.gate.weight.shape == (heads, d) and b.attn.gate.bias.shape == (heads,)
               for b in headwise.blocks)
    # the elementwise scores multiply each channel of the SDPA output: (B, N, heads, head_dim)
    x = torch.randn(2, 5, d)
    scores = default.blocks[0].attn.gate(x)
    assert scores.shape == (2, 5, heads, d // heads)
    torch.testing.assert_close(scores.reshape(2, 5, d), torch.sigmoid(x @ default.blocks[0].attn.gate.weight.T
                                                                      + default.blocks[0].attn.gate.bias))


def test_bad_edit_arguments():
    with pytest.raises(ValueError, match='with_cls_token'):
        EDITViT(arch='tiny', with_cls_token=False)
    with pytest.raises(ValueError, match="cb_mode='cb_gate'"):
        EDITViT(arch='tiny', cb_layers=(11,), cb_mode='cb_gate')
    with pytest.raises(ValueError, match='cls_decoder'):
        EDITViT(arch='tiny', cls_decoder=False)
