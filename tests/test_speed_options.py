"""Mixed precision and compilation: the config each train.py flag produces, and what a CPU can check.

The CUDA parts (mmengine's AmpOptimWrapper, inductor kernels) run in tools/gpu_check.sh.
"""
import os.path as osp

import pytest
import torch
from torch import nn

from conftest import ROOT, perturb_
from mmedit_vit.apis import apply_speed_options, load_run_config
from mmedit_vit.models import EDITViT

CONFIG = osp.join(ROOT, 'configs', 'demo', 'cls_edit_t_synthetic.py')
TINY = dict(arch=dict(embed_dims=48, num_heads=3, depth=4), img_size=32, patch_size=8)


@pytest.fixture
def fake_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)


def config():
    return load_run_config(CONFIG, work_dir='unused')


@pytest.mark.parametrize('amp,dtype,scale', [(True, None, 'dynamic'), (True, 'float16', 'dynamic'),
                                             (False, 'bfloat16', 1.0), (True, 'bfloat16', 1.0)])
def test_amp_flags_select_mmengine_amp_wrapper(fake_cuda, amp, dtype, scale):
    """mmengine's AmpOptimWrapper, as its subclass that logs the gradient norm once per logging interval."""
    from mmengine.optim import AmpOptimWrapper

    from mmedit_vit.engine.optimizers import DeferredLogAmpOptimWrapper
    cfg = apply_speed_options(config(), amp=amp, amp_dtype=dtype)
    assert cfg.optim_wrapper.type == 'DeferredLogAmpOptimWrapper'
    assert issubclass(DeferredLogAmpOptimWrapper, AmpOptimWrapper)
    assert cfg.optim_wrapper.dtype == (dtype or 'float16')
    assert cfg.optim_wrapper.loss_scale == scale
    assert cfg.optim_wrapper.optimizer.type == config().optim_wrapper.optimizer.type  # the rest is untouched
    assert cfg.get('compile') is None


def test_no_flag_changes_nothing():
    assert apply_speed_options(config()).to_dict() == config().to_dict()


def test_compile_flag_sets_mmengine_compile():
    cfg = apply_speed_options(config(), compile_model=True)
    assert cfg.compile is True
    assert cfg.optim_wrapper.get('type', 'OptimWrapper') == config().optim_wrapper.get('type', 'OptimWrapper')


def test_compile_mode_reaches_mmengine_compile():
    assert apply_speed_options(config(), compile_model='default').compile is True
    assert apply_speed_options(config(), compile_model='reduce-overhead').compile == dict(mode='reduce-overhead')
    with pytest.raises(ValueError, match="'fast' is not a torch.compile mode; choose one of"):
        apply_speed_options(config(), compile_model='fast')


def test_train_tool_compile_flag_takes_a_mode(monkeypatch):
    """tools/train.py --compile / --compile reduce-overhead parse into what apply_speed_options takes."""
    from mmedit_vit.apis.train_cli import parse_args
    cases = ((['--compile'], 'default'), (['--compile', 'reduce-overhead'], 'reduce-overhead'), ([], None))
    for argv, expected in cases:
        assert parse_args(['cfg.py', *argv]).compile == expected


def test_amp_without_cuda_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with pytest.raises(RuntimeError, match='CUDA'):
        apply_speed_options(config(), amp_dtype='bfloat16')


def test_bad_dtype_and_foreign_wrapper_are_refused(fake_cuda):
    with pytest.raises(ValueError, match="'float8'"):
        apply_speed_options(config(), amp_dtype='float8')
    cfg = config()
    cfg.optim_wrapper.type = 'ApexOptimWrapper'
    with pytest.raises(ValueError, match='ApexOptimWrapper'):
        apply_speed_options(cfg, amp=True)


class TinyClassifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = EDITViT(**TINY, out_cls_token=True)
        self.head = nn.Linear(48, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x)[-1][1])


def train_losses(model: nn.Module, images, labels, autocast: bool) -> list:
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    losses = []
    for x, y in zip(images, labels):
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=autocast):
            loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def test_bfloat16_autocast_training_follows_float32(one_thread):
    reference = perturb_(TinyClassifier(), weights=True)
    mixed = TinyClassifier()
    mixed.load_state_dict(reference.state_dict())
    images = [torch.randn(8, 3, 32, 32) for _ in range(6)]
    labels = [torch.randint(0, 4, (8,)) for _ in range(6)]
    full = train_losses(reference, images, labels, autocast=False)
    half = train_losses(mixed, images, labels, autocast=True)
    assert full[-1] < full[0]  # it learns
    for a, b in zip(full, half):
        assert b == pytest.approx(a, rel=0.03, abs=0.02)
    with torch.autocast('cpu', dtype=torch.bfloat16):  # autocast really runs the matmuls in bfloat16
        assert mixed.backbone.blocks[0].attn.qkv(torch.randn(1, 48)).dtype == torch.bfloat16


@pytest.mark.parametrize('with_cp', [False, True])
def test_backbone_compiles_as_one_graph(with_cp, one_thread):
    """fullgraph=True fails on any graph break: the whole forward (EDIT decoder, checkpointing) is traceable."""
    model = perturb_(EDITViT(**TINY, out_cls_token=True, with_cp=with_cp), weights=True).train()
    compiled = torch.compile(model, backend='aot_eager', fullgraph=True)
    x = torch.randn(2, 3, 32, 32)
    feat, cls = compiled(x)[-1]
    (feat.square().mean() + cls.square().mean()).backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    feat_ref, cls_ref = model(x)[-1]
    (feat_ref.square().mean() + cls_ref.square().mean()).backward()
    torch.testing.assert_close(cls, cls_ref)
    for name, param in model.named_parameters():
        torch.testing.assert_close(grads[name], param.grad, msg=name)
