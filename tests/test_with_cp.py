"""Activation checkpointing (``with_cp``): same gradients, fewer saved activations, every variant."""
import pytest
import torch

from conftest import perturb_
from mmedit_vit.models import CBViT, EDITViT, GatedViT, PlainViT

TINY = dict(arch=dict(embed_dims=48, num_heads=3, depth=4), img_size=64, patch_size=16)
VARIANTS = [
    (PlainViT, dict(num_registers=2)),
    (GatedViT, dict(gate='elementwise')),
    (CBViT, dict(cb_mode='cbs')),
    (EDITViT, dict(out_cls_token=True)),  # the decoder runs: its steps are checkpointed too
]


def grads_of(model: torch.nn.Module, x: torch.Tensor) -> dict:
    model.train()
    model.zero_grad(set_to_none=True)
    outs = model(x)
    loss = sum((o[0].square().mean() + o[1].square().mean()) if isinstance(o, tuple) else o.square().mean()
               for o in outs)
    loss.backward()
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize('cls,kwargs', VARIANTS, ids=[c.__name__ for c, _ in VARIANTS])
def test_gradients_equal_without_checkpointing(cls, kwargs, one_thread):
    reference = perturb_(cls(**TINY, out_indices=(1, 3), **kwargs), weights=True)
    checkpointed = cls(**TINY, out_indices=(1, 3), with_cp=True, **kwargs)
    checkpointed.load_state_dict(reference.state_dict())
    x = torch.randn(2, 3, 64, 64)
    expected, got = grads_of(reference, x), grads_of(checkpointed, x)
    assert expected.keys() == got.keys() and len(got) == len(list(reference.parameters()))
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], atol=1e-5, rtol=1e-5, msg=name)


def test_drop_path_masks_are_replayed_in_the_recomputation(one_thread):
    """The recomputed forward must draw the same drop-path masks (RNG state restored)."""
    reference = perturb_(PlainViT(**TINY, drop_path_rate=0.5), weights=True)
    checkpointed = PlainViT(**TINY, drop_path_rate=0.5, with_cp=True)
    checkpointed.load_state_dict(reference.state_dict())
    x = torch.randn(4, 3, 64, 64)
    torch.manual_seed(1)
    expected = grads_of(reference, x)
    torch.manual_seed(1)
    got = grads_of(checkpointed, x)
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], atol=1e-5, rtol=1e-5, msg=name)


def saved_bytes(model: torch.nn.Module, x: torch.Tensor) -> int:
    seen = {}

    def pack(t):
        seen[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(x)[-1].sum().backward()
    return sum(seen.values())


def test_checkpointing_keeps_only_block_inputs(one_thread):
    """Each further checkpointed block adds exactly its (B, N, d) input to what autograd keeps."""
    x = torch.randn(2, 3, 128, 128)

    def saved(depth: int, with_cp: bool) -> int:
        model = PlainViT(arch=dict(embed_dims=64, num_heads=2, depth=depth), img_size=128, with_cp=with_cp)
        return saved_bytes(model.train(), x)

    block_input = 2 * (64 + 1) * 64 * 4  # B x (patches + [CLS]) x d, float32
    assert saved(8, True) - saved(4, True) == 4 * block_input
    plain_per_block = (saved(8, False) - saved(4, False)) / 4
    assert plain_per_block > 8 * block_input
    assert saved(8, True) < saved(8, False) / 3


def test_inference_and_frozen_blocks_run_without_checkpointing(one_thread):
    model = PlainViT(**TINY, with_cp=True, frozen_stages=2).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 64, 64))[-1]
    assert out.shape == (1, 48, 4, 4)
    model.train()
    model(torch.randn(1, 3, 64, 64))[-1].sum().backward()
    assert model.blocks[0].attn.qkv.weight.grad is None
    assert model.blocks[3].attn.qkv.weight.grad is not None


def test_bad_with_cp_is_rejected():
    with pytest.raises(ValueError, match='with_cp'):
        PlainViT(**TINY, with_cp='yes')
