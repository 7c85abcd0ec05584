"""Checkpoint loading: timm equivalence, every supported layout, strictness, weights-only files."""
import os

import numpy as np
import pytest
import timm
import torch
from mmengine.logging import HistoryBuffer

from conftest import perturb_
from mmedit_vit.converters import CheckpointMismatchError, load_pretrained
from mmedit_vit.models import CBViT, EDITViT, GatedViT, PlainViT
from mmedit_vit.utils import UnsafeCheckpointError
from tool_runner import run_tool


def timm_model(name: str, **kwargs) -> torch.nn.Module:
    return perturb_(timm.create_model(name, pretrained=False, **kwargs)).eval()


def timm_patch_tokens(model, x):
    with torch.no_grad():
        return model.forward_features(x)[:, model.num_prefix_tokens:]


def our_patch_tokens(model, x):
    with torch.no_grad():
        return model(x)[-1].flatten(2).transpose(1, 2)


def pretrained(cls, path, **kwargs):
    model = cls(init_cfg=dict(type='Pretrained', checkpoint=str(path)), **kwargs)
    model.init_weights()
    return model.eval()


@pytest.mark.parametrize('name', ['deit3_small_patch16_224', 'deit_small_patch16_224', 'vit_small_patch16_224'])
def test_small_models_reproduce_timm_forward_features(name, tmp_path):
    reference = timm_model(name)
    path = tmp_path / 'timm.pth'
    torch.save(reference.state_dict(), path)
    model = pretrained(PlainViT, path, arch='small')
    x = torch.randn(2, 3, 224, 224)
    assert (our_patch_tokens(model, x) - timm_patch_tokens(reference, x)).abs().max() <= 1e-5


def test_deit3_original_file_layout(tmp_path):
    """Facebook's DeiT-III files: weights under 'model', LayerScale as gamma_1/gamma_2, no [CLS] slot."""
    reference = timm_model('deit3_small_patch16_224')
    state = {k.replace('ls1.gamma', 'gamma_1').replace('ls2.gamma', 'gamma_2'): v
             for k, v in reference.state_dict().items()}
    torch.save({'model': state, 'epoch': 799}, tmp_path / 'deit3.pth')
    model = pretrained(PlainViT, tmp_path / 'deit3.pth', arch='small')
    x = torch.randn(1, 3, 224, 224)
    assert (our_patch_tokens(model, x) - timm_patch_tokens(reference, x)).abs().max() <= 1e-5


def test_dinov2_with_registers_timm_layout(tmp_path):
    reference = timm_model('vit_small_patch14_reg4_dinov2', img_size=126)
    torch.save(reference.state_dict(), tmp_path / 'dinov2.pth')
    model = pretrained(PlainViT, tmp_path / 'dinov2.pth', arch='small', patch_size=14, img_size=126,
                       num_registers=4, layer_scale_init=1e-5)
    x = torch.randn(1, 3, 126, 126)
    assert (our_patch_tokens(model, x) - timm_patch_tokens(reference, x)).abs().max() <= 1e-5


def test_position_embedding_resampled_like_timm(tmp_path):
    """A 224 checkpoint loaded at 160 equals timm resampling the same embedding on the fly."""
    reference = timm_model('deit_small_patch16_224', dynamic_img_size=True)
    torch.save(reference.state_dict(), tmp_path / 'deit.pth')
    model = pretrained(PlainViT, tmp_path / 'deit.pth', arch='small', img_size=160)
    assert model.pos_embed.shape == (1, 100, 384)
    x = torch.randn(1, 3, 160, 160)
    assert (our_patch_tokens(model, x) - timm_patch_tokens(reference, x)).abs().max() <= 1e-4


def test_missing_layer_scale_is_filled_with_one_and_reported(tmp_path):
    torch.save(timm_model('deit_small_patch16_224').state_dict(), tmp_path / 'deit.pth')
    model = PlainViT(arch='small')
    notes = load_pretrained(model, str(tmp_path / 'deit.pth'))
    assert any('no LayerScale' in n for n in notes)
    assert any('[CLS]' in n for n in notes)
    assert torch.equal(model.blocks[5].ls2.gamma, torch.ones(384))


def test_missing_and_extra_keys_are_errors_naming_them(tmp_path):
    state = PlainViT(arch='tiny').state_dict()
    missing = dict(state)
    del missing['blocks.3.mlp.fc1.bias']
    torch.save(missing, tmp_path / 'missing.pth')
    with pytest.raises(CheckpointMismatchError, match=r'missing in the checkpoint: blocks\.3\.mlp\.fc1\.bias'):
        pretrained(PlainViT, tmp_path / 'missing.pth', arch='tiny')
    extra = dict(state, **{'blocks.3.attn.rel_pos': torch.zeros(3)})
    torch.save(extra, tmp_path / 'extra.pth')
    with pytest.raises(CheckpointMismatchError, match=r'not in the model: blocks\.3\.attn\.rel_pos'):
        pretrained(PlainViT, tmp_path / 'extra.pth', arch='tiny')
    with pytest.raises(CheckpointMismatchError, match=r'shape mismatch: patch_embed\.proj\.weight'):
        pretrained(PlainViT, tmp_path / 'extra.pth', arch='tiny', patch_size=8)


def test_new_modules_need_missing_ok(tmp_path):
    torch.save(timm_model('deit3_small_patch16_224').state_dict(), tmp_path / 'deit3.pth')
    with pytest.raises(CheckpointMismatchError, match=r'decoder\.kv\.weight'):
        pretrained(EDITViT, tmp_path / 'deit3.pth', arch='small')
    with pytest.raises(CheckpointMismatchError, match=r'blocks\.0\.attn\.gate\.weight'):
        pretrained(GatedViT, tmp_path / 'deit3.pth', arch='small')
    model = GatedViT(arch='small')
    notes = load_pretrained(model, str(tmp_path / 'deit3.pth'), missing_ok=[r'attn\.gate\.'])
    assert any('24 keys' in n and 'missing_ok' in n for n in notes)


def test_own_classifier_checkpoint_gives_its_backbone(tmp_path):
    """An mmengine checkpoint of a full model (backbone + head, message hub): backbone part, weights only."""
    source = perturb_(EDITViT(arch='tiny', num_registers=2)).eval()
    state = {f'backbone.{k}': v for k, v in source.state_dict().items()}
    state['head.fc.weight'] = torch.zeros(10, 192)
    meta = {'epoch': 3, 'iter': 30, 'mmengine_version': '0.10.7'}
    buffer = HistoryBuffer()
    buffer.update(0.5)
    hub = {'log_scalars': {'train/loss': buffer}, 'runtime_info': {'epoch': 3, 'lr': np.float64(0.1)}}
    torch.save({'meta': meta, 'state_dict': state, 'message_hub': hub}, tmp_path / 'epoch_3.pth')
    model = EDITViT(arch='tiny', num_registers=2, out_cls_token=True)
    notes = load_pretrained(model, str(tmp_path / 'epoch_3.pth'))
    assert any("'backbone.'" in n and 'head.fc.weight' in n for n in notes)
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        (feat, cls), = model.eval()(x)
        assert torch.equal(feat, source(x)[0])


class _Payload:
    def __reduce__(self):
        return (os.system, ('echo unsafe',))


def test_checkpoints_load_weights_only(tmp_path):
    torch.save({'state_dict': PlainViT(arch='tiny').state_dict(), 'extra': _Payload()}, tmp_path / 'bad.pth')
    with pytest.raises(UnsafeCheckpointError, match='bad.pth.*posix.system'):
        pretrained(PlainViT, tmp_path / 'bad.pth', arch='tiny')


def test_bad_init_cfg(tmp_path):
    with pytest.raises(FileNotFoundError, match='nowhere.pth'):
        pretrained(PlainViT, tmp_path / 'nowhere.pth', arch='tiny')
    model = PlainViT(arch='tiny', init_cfg=dict(type='Pretrained', checkpoint='x.pth', strict=False))
    with pytest.raises(ValueError, match=r"\['strict'\]"):
        model.init_weights()


def test_convert_tool_round_trip(tmp_path):
    reference = timm_model('deit_small_patch16_224')
    torch.save(reference.state_dict(), tmp_path / 'deit.pth')
    result = run_tool(['tools/convert_timm.py', str(tmp_path / 'deit.pth'), str(tmp_path / 'converted.pth')])
    assert result.returncode == 0, result.stderr
    assert 'no LayerScale' in result.stdout
    converted = torch.load(tmp_path / 'converted.pth', weights_only=True)
    assert converted['state_dict']['pos_embed'].shape == (1, 196, 384)
    model = PlainViT(arch='small')
    notes = load_pretrained(model, str(tmp_path / 'converted.pth'))
    assert notes == []
    x = torch.randn(1, 3, 224, 224)
    assert (our_patch_tokens(model.eval(), x) - timm_patch_tokens(reference, x)).abs().max() <= 1e-5


class _GetattrPayload:
    def __reduce__(self):
        return (getattr, (HistoryBuffer, '__init__'))


def test_only_history_buffer_statistics_may_be_looked_up(tmp_path):
    torch.save({'state_dict': {}, 'extra': _GetattrPayload()}, tmp_path / 'bad.pth')
    with pytest.raises(UnsafeCheckpointError, match='refusing getattr'):
        pretrained(PlainViT, tmp_path / 'bad.pth', arch='tiny')


@pytest.mark.parametrize('cls', [PlainViT, GatedViT, CBViT, EDITViT])
def test_model_level_pretrained_becomes_a_strict_pretrained_init_cfg(cls, tmp_path):
    """mmseg's EncoderDecoder and mmdet's detectors hand ``model.pretrained`` to the backbone as mmseg's
    backbones take it: deprecated, mapped onto init_cfg=dict(type='Pretrained')."""
    arch = dict(embed_dims=48, num_heads=3, depth=2)
    source = perturb_(cls(arch=arch, img_size=32), weights=True)
    path = str(tmp_path / 'backbone.pth')
    torch.save(source.state_dict(), path)
    with pytest.warns(UserWarning, match='pretrained is deprecated'):
        model = cls(arch=arch, img_size=32, pretrained=path)
    assert model.init_cfg == dict(type='Pretrained', checkpoint=path)
    model.init_weights()
    for key, value in source.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key
    torch.save({k: v for k, v in source.state_dict().items() if k != 'pos_embed'}, path)
    with pytest.warns(UserWarning), pytest.raises(CheckpointMismatchError, match='pos_embed'):
        cls(arch=arch, img_size=32, pretrained=path).init_weights()  # strict, as init_cfg is


def test_model_level_pretrained_conflicts_are_errors(tmp_path):
    with pytest.raises(ValueError, match=r"pretrained='a\.pth' and init_cfg=.*b\.pth.*both set"):
        PlainViT(arch='tiny', pretrained='a.pth', init_cfg=dict(type='Pretrained', checkpoint='b.pth'))
    with pytest.raises(TypeError, match='pretrained=3'):
        PlainViT(arch='tiny', pretrained=3)
