"""EDIT's decoder, run once over all depths, against the per-depth formula of the EDIT paper.

The reference below refines [CLS] one depth at a time over a concatenated copy [z_i; cls_{i-1}]; the
backbone must give the same outputs and gradients (float64) on every variant that composes with EDIT.
"""
import pytest
import torch
import torch.nn.functional as F

from conftest import perturb_
from mmedit_vit.analysis.benchmark import step_fn
from mmedit_vit.analysis.op_count import count_ops
from mmedit_vit.models import EDITViT, PlainViT

ARCH = dict(embed_dims=32, num_heads=2, depth=4)
COMPOSED = {
    'plain': {},
    'registers': dict(num_registers=3),
    'gate_headwise': dict(gate='headwise'),
    'gate_elementwise': dict(gate='elementwise'),
    'gate_value': dict(gate='elementwise', gate_position='value'),
    'cb': dict(cb_layers=(1, 3), cb_mode='cb'),
    'cbs': dict(cb_layers=(2, 3), cb_mode='cbs'),
    'no_layer_scale': dict(layer_scale_init=None),
}


def reference_decode(dec, cls, *depth_tokens):
    """cls_i = LN(cls_{i-1} + softmax(cls_{i-1} K_i^T / sqrt(d)) V_i), K_i, V_i from LN_src([z_i; cls_{i-1}])."""
    outs = []
    for tokens in depth_tokens:
        k, v = dec.kv(dec.norm_src(torch.cat([tokens, cls], dim=1))).chunk(2, dim=-1)
        attn = ((cls * dec.scale) @ k.transpose(-2, -1)).softmax(dim=-1)
        cls = dec.norm(cls + attn @ v)
        outs.append(cls)
    return outs


def run(model, x, reference=False):
    """Outputs and parameter gradients of a loss reading every output map and [CLS]."""
    if reference:
        model._decode = lambda cls, *tokens: reference_decode(model.decoder, cls, *tokens)
    model.zero_grad(set_to_none=True)
    outs = model(x)
    loss = sum((m * torch.linspace(-1, 1, m.numel(), dtype=m.dtype).view_as(m)).sum() + c.square().sum()
               for m, c in outs)
    loss.backward()
    if reference:
        del model._decode
    return [t.detach() for o in outs for t in o], {n: p.grad for n, p in model.named_parameters()}


def build(out_indices=(1, 3), **kwargs):
    model = EDITViT(arch=ARCH, img_size=(32, 48), out_indices=out_indices, out_cls_token=True, **kwargs)
    return perturb_(model, weights=True).double().train()


@pytest.mark.parametrize('variant', sorted(COMPOSED))
def test_outputs_and_gradients_equal_the_per_depth_formula(variant, one_thread):
    model = build(**COMPOSED[variant])
    x = torch.randn(2, 3, 32, 48, dtype=torch.float64)
    expected_out, expected_grad = run(model, x, reference=True)
    got_out, got_grad = run(model, x)
    for e, g in zip(expected_out, got_out):
        torch.testing.assert_close(g, e, atol=1e-10, rtol=1e-10)
    assert got_grad.keys() == expected_grad.keys()
    for name, e in expected_grad.items():
        assert e is not None and got_grad[name] is not None, name
        torch.testing.assert_close(got_grad[name], e, atol=1e-10, rtol=1e-10, msg=name)


@pytest.mark.parametrize('out_indices', [(0,), (0, 2)])
def test_depths_no_loss_reads_get_no_gradient_and_the_rest_are_exact(out_indices, one_thread):
    """The chain's backward with the last depths unread (their gradients are None, not zeros)."""
    model = build(out_indices=out_indices, num_registers=1)
    x = torch.randn(2, 3, 32, 48, dtype=torch.float64)
    expected_out, expected_grad = run(model, x, reference=True)
    got_out, got_grad = run(model, x)
    for e, g in zip(expected_out, got_out):
        torch.testing.assert_close(g, e, atol=1e-10, rtol=1e-10)
    for name, e in expected_grad.items():
        if e is None:
            assert got_grad[name] is None, name
        else:
            torch.testing.assert_close(got_grad[name], e, atol=1e-10, rtol=1e-10, msg=name)


def test_under_bfloat16_autocast_the_chain_runs_in_float32(one_thread):
    model = EDITViT(arch=ARCH, img_size=(32, 48), out_cls_token=True).train()
    x = torch.randn(2, 3, 32, 48)
    reference = model(x)[-1][1]
    with torch.autocast('cpu', dtype=torch.bfloat16):
        _, cls = model(x)[-1]
    assert cls.dtype == torch.float32
    torch.testing.assert_close(cls, reference, atol=0.1, rtol=0.05)  # bfloat16 blocks, float32 chain
    cls.square().sum().backward()
    assert torch.isfinite(model.decoder.kv.weight.grad).all() and model.decoder.kv.weight.grad.abs().sum() > 0


@pytest.mark.parametrize('with_cp', [False, True])
def test_drop_path_and_checkpointing_keep_the_reference_gradients(with_cp, one_thread):
    """Drop path draws the same masks (the decoder draws no random numbers) with and without with_cp."""
    model = build(num_registers=2, drop_path_rate=0.5, with_cp=with_cp)
    x = torch.randn(2, 3, 32, 48, dtype=torch.float64)
    torch.manual_seed(3)
    expected_out, expected_grad = run(model, x, reference=True)
    model.with_cp = False
    torch.manual_seed(3)
    no_cp_out, _ = run(model, x)
    model.with_cp = with_cp
    torch.manual_seed(3)
    got_out, got_grad = run(model, x)
    for e, g, n in zip(expected_out, got_out, no_cp_out):
        torch.testing.assert_close(g, e, atol=1e-10, rtol=1e-10)
        torch.testing.assert_close(n, e, atol=1e-10, rtol=1e-10)
    torch.manual_seed(4)
    other_seed, _ = run(model, x)
    assert not torch.allclose(other_seed[-1], got_out[-1])  # drop path is active: other masks, other outputs
    for name, e in expected_grad.items():
        torch.testing.assert_close(got_grad[name], e, atol=1e-10, rtol=1e-10, msg=name)


def test_state_dict_keys_are_unchanged():
    keys = {k for k in EDITViT(arch=ARCH).state_dict() if k.startswith('decoder.')}
    assert keys == {'decoder.norm_src.weight', 'decoder.norm_src.bias', 'decoder.kv.weight', 'decoder.kv.bias',
                    'decoder.norm.weight', 'decoder.norm.bias'}


def saved_bytes(model, x):
    seen = {}

    def pack(t):
        seen[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        run(model, x)
    return sum(seen.values())


def test_stacked_tokens_save_no_more_than_the_per_depth_copies_and_with_cp_still_saves(one_thread):
    model = build(num_registers=1)
    x = torch.randn(2, 3, 32, 48, dtype=torch.float64)
    model._decode = lambda cls, *tokens: reference_decode(model.decoder, cls, *tokens)
    per_depth = saved_bytes(model, x)
    del model._decode
    stacked = saved_bytes(model, x)
    model.with_cp = True
    checkpointed = saved_bytes(model, x)
    assert stacked <= per_depth
    assert checkpointed < 0.5 * stacked


def test_edit_small_training_step_op_budget(one_thread):
    """aten operators of one EDIT-S classification step (forward + backward) against PlainViT-S's.

    The counts do not depend on batch or image size; the budget is the measured count (+5 %)."""
    x = torch.randn(1, 3, 32, 32)
    plain = count_ops(step_fn(PlainViT(arch='small', img_size=32).train(), x, False))
    edit = count_ops(step_fn(EDITViT(arch='small', img_size=32, out_cls_token=True).train(), x, False))
    assert plain.total == pytest.approx(PLAIN_S_OPS, rel=0.05)
    assert edit.total <= 1.05 * EDIT_S_OPS, f'{edit.total} aten ops, budget {EDIT_S_OPS}'
    assert edit.launches <= 1.05 * EDIT_S_LAUNCHES, f'{edit.launches} non-view ops, budget {EDIT_S_LAUNCHES}'
    assert edit.syncs == 0


PLAIN_S_OPS = 1291
EDIT_S_OPS = 1772
EDIT_S_LAUNCHES = 856  # per-step autograd: 988; the per-depth formula (copy + fused attention per depth): 1032


def test_reference_decode_is_the_papers_formula_by_hand():
    """The reference itself, against F.layer_norm / softmax written out for one depth."""
    model = build()
    dec = model.decoder
    cls, tokens = torch.randn(2, 1, 32, dtype=torch.float64), torch.randn(2, 5, 32, dtype=torch.float64)
    src = F.layer_norm(torch.cat([tokens, cls], 1), (32,), dec.norm_src.weight, dec.norm_src.bias, eps=1e-6)
    k, v = F.linear(src, dec.kv.weight[:32], dec.kv.bias[:32]), F.linear(src, dec.kv.weight[32:], dec.kv.bias[32:])
    attn = torch.softmax(cls @ k.transpose(1, 2) / 32 ** 0.5, -1)
    expected = F.layer_norm(cls + attn @ v, (32,), dec.norm.weight, dec.norm.bias, eps=1e-6)
    torch.testing.assert_close(reference_decode(dec, cls, tokens)[0], expected, atol=1e-12, rtol=0)
