"""The pure-PyTorch layers against hand computations and timm's modules."""
import math

import pytest
import timm
import torch
import torch.nn.functional as F
from timm.models.vision_transformer import Block as TimmBlock

from conftest import perturb_
from mmedit_vit.models.layers import (
    Attention,
    AttentionGate,
    Block,
    BroadcastMlp,
    ContextBroadcast,
    EDITDecoderLayer,
    capture_maps,
)


def manual_attention(attn: Attention, x: torch.Tensor, gate: torch.Tensor = None, position: str = 'sdpa'):
    """Attention written out term by term from the module's weights."""
    B, N, C = x.shape
    h, hd = attn.num_heads, C // attn.num_heads
    q, k, v = (x @ attn.qkv.weight.T + attn.qkv.bias).split(C, dim=-1)
    q, k, v = (t.reshape(B, N, h, hd).transpose(1, 2) for t in (q, k, v))
    if gate is not None and position == 'value':
        v = v * gate.transpose(1, 2)
    probs = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(hd), dim=-1)
    out = (probs @ v).transpose(1, 2)
    if gate is not None and position == 'sdpa':
        out = out * gate
    return out.reshape(B, N, C) @ attn.proj.weight.T + attn.proj.bias, probs


def test_attention_matches_hand_computation_and_timm():
    attn = perturb_(Attention(64, num_heads=4, qkv_bias=True)).eval()
    x = torch.randn(2, 10, 64)
    expected, _ = manual_attention(attn, x)
    torch.testing.assert_close(attn(x), expected, atol=1e-5, rtol=1e-5)
    reference = timm.layers.Attention(64, num_heads=4, qkv_bias=True).eval()
    reference.load_state_dict({k: v for k, v in attn.state_dict().items()})
    torch.testing.assert_close(attn(x), reference(x), atol=1e-6, rtol=0)


@pytest.mark.parametrize('mode,position', [('headwise', 'sdpa'), ('elementwise', 'sdpa'),
                                           ('headwise', 'value'), ('elementwise', 'value')])
def test_gated_attention_matches_hand_computation(mode, position):
    attn = perturb_(Attention(64, num_heads=4, qkv_bias=True, gate=mode, gate_position=position)).eval()
    x = torch.randn(2, 10, 64)
    gate = torch.sigmoid(x @ attn.gate.weight.T + attn.gate.bias).reshape(2, 10, 4, -1)
    assert gate.shape[-1] == (1 if mode == 'headwise' else 16)
    expected, _ = manual_attention(attn, x, gate, position)
    torch.testing.assert_close(attn(x), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize('mode,extra', [('headwise', lambda d, h: d * h + h), ('elementwise', lambda d, h: d * d + d)])
def test_gate_parameter_count(mode, extra):
    plain = sum(p.numel() for p in Attention(96, num_heads=6).parameters())
    gated = sum(p.numel() for p in Attention(96, num_heads=6, gate=mode).parameters())
    assert gated - plain == extra(96, 6)


@pytest.mark.parametrize('mode', ['headwise', 'elementwise'])
@pytest.mark.parametrize('position', ['sdpa', 'value'])
def test_gate_open_to_infinity_is_ungated(mode, position):
    gated = perturb_(Attention(64, num_heads=4, qkv_bias=True, gate=mode, gate_position=position)).eval()
    plain = Attention(64, num_heads=4, qkv_bias=True).eval()
    plain.load_state_dict({k: v for k, v in gated.state_dict().items() if not k.startswith('gate.')})
    with torch.no_grad():
        gated.gate.bias.fill_(float('inf'))
    x = torch.randn(2, 10, 64)
    assert torch.equal(gated(x), plain(x))


def test_captured_maps_are_the_attention_probabilities_and_cost_nothing_otherwise():
    attn = perturb_(Attention(64, num_heads=4, qkv_bias=True, gate='headwise')).eval()
    x = torch.randn(2, 10, 64)
    fused = attn(x)
    with capture_maps(attn) as maps:
        exposed = attn(x)
    assert not attn.expose_maps and not attn.gate.expose_maps
    assert not attn.attn_probe._forward_hooks
    torch.testing.assert_close(exposed, fused, atol=1e-6, rtol=1e-5)
    probs = maps['attn_probe'][0]
    gate = maps['gate.score_probe'][0]
    _, expected = manual_attention(attn, x, gate)
    assert probs.shape == (2, 4, 10, 10) and gate.shape == (2, 10, 4, 1)
    torch.testing.assert_close(probs, expected, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(probs.sum(-1), torch.ones(2, 4, 10))


def test_bad_attention_arguments():
    with pytest.raises(ValueError, match="gate='sigmoid'"):
        Attention(64, 4, gate='sigmoid')
    with pytest.raises(ValueError, match="gate_position='output'"):
        Attention(64, 4, gate='headwise', gate_position='output')
    with pytest.raises(ValueError, match='gate'):
        AttentionGate(64, 4, mode='none')


def test_context_broadcast_modes():
    x = torch.randn(2, 7, 16)
    mean = x.mean(dim=1, keepdim=True)
    cls = x[:, :1]
    torch.testing.assert_close(ContextBroadcast(16, 'cb')(x), 0.5 * x + 0.5 * mean)
    cbs = ContextBroadcast(16, 'cbs', scale_init=0.3)
    with torch.no_grad():
        cbs.scale.copy_(torch.linspace(-1, 1, 16))
    torch.testing.assert_close(cbs(x), x + torch.linspace(-1, 1, 16) * mean)
    torch.testing.assert_close(ContextBroadcast(16, 'cb_gate')(x), x * (cls + 1))
    torch.testing.assert_close(ContextBroadcast(16, 'cb_hybrid')(x), x * cls + 0.5 * x + 0.5 * mean)
    assert sum(p.numel() for p in ContextBroadcast(16, 'cb').parameters()) == 0
    assert sum(p.numel() for p in ContextBroadcast(16, 'cbs').parameters()) == 16
    with pytest.raises(ValueError, match="cb_mode='mean'"):
        ContextBroadcast(16, 'mean')


def test_broadcast_mlp_is_timm_mlp_then_broadcast():
    mlp = perturb_(BroadcastMlp(in_features=16, hidden_features=32, cb_mode='cb'))
    plain = timm.layers.Mlp(in_features=16, hidden_features=32)
    plain.load_state_dict(mlp.state_dict())
    x = torch.randn(2, 5, 16)
    y = plain(x)
    torch.testing.assert_close(mlp(x), 0.5 * y + 0.5 * y.mean(1, keepdim=True))


def test_edit_decoder_matches_hand_computation():
    """Two depths: each step attends over [that depth's tokens; previous CLS], as the EDIT paper writes it."""
    dec = perturb_(EDITDecoderLayer(32)).eval()
    cls, depth_tokens = torch.randn(2, 1, 32), [torch.randn(2, 9, 32), torch.randn(2, 9, 32)]
    expected, probs = [], []
    prev = cls
    for tokens in depth_tokens:
        src = F.layer_norm(torch.cat([tokens, prev], 1), (32,), dec.norm_src.weight, dec.norm_src.bias, eps=1e-6)
        k = src @ dec.kv.weight[:32].T + dec.kv.bias[:32]
        v = src @ dec.kv.weight[32:].T + dec.kv.bias[32:]
        probs.append(torch.softmax(prev @ k.transpose(1, 2) / math.sqrt(32), dim=-1))
        prev = F.layer_norm(prev + probs[-1] @ v, (32,), dec.norm.weight, dec.norm.bias, eps=1e-6)
        expected.append(prev)
    got = dec(cls, depth_tokens)
    assert len(got) == 2
    for g, e in zip(got, expected):
        torch.testing.assert_close(g, e, atol=1e-5, rtol=1e-5)
    with capture_maps(dec) as maps:
        dec(cls, depth_tokens)
    assert len(maps['attn_probe']) == 2
    for g, e in zip(maps['attn_probe'], probs):
        torch.testing.assert_close(g, e, atol=1e-6, rtol=1e-5)
    assert sum(p.numel() for p in dec.parameters()) == 2 * 32 * 32 + 2 * 32 + 4 * 32


def test_block_matches_timm_block():
    ours = perturb_(Block(64, 4, layer_scale_init=1e-5)).eval()
    theirs = TimmBlock(64, 4, qkv_bias=True, init_values=1e-5).eval()
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(2, 10, 64)
    torch.testing.assert_close(ours(x), theirs(x), atol=1e-6, rtol=0)
