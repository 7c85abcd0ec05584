"""Checkpoints by hub name (timm/<model>.<tag>), resolved offline from a Hugging Face cache the test writes."""

import pytest
import timm
import torch
from safetensors.torch import save_file

from conftest import perturb_
from mmedit_vit.apis import check_pretrained_files
from mmedit_vit.converters import hub_model_id, is_hub_name, load_pretrained
from mmedit_vit.models import EDITViT, PlainViT
from tool_runner import run_tool

REVISION = '0123456789abcdef0123456789abcdef01234567'


def fill_cache(hub_cache, repo_id: str, state: dict) -> None:
    """The layout huggingface_hub reads offline: models--ORG--NAME/{refs/main, snapshots/<rev>/model.safetensors}."""
    repo = hub_cache / ('models--' + repo_id.replace('/', '--'))
    snapshot = repo / 'snapshots' / REVISION
    snapshot.mkdir(parents=True)
    (repo / 'refs').mkdir()
    (repo / 'refs' / 'main').write_text(REVISION)
    save_file({k: v.contiguous() for k, v in state.items()}, str(snapshot / 'model.safetensors'))


@pytest.fixture
def offline_cache(tmp_path, monkeypatch):
    """An empty Hugging Face cache, offline, for this process and its children."""
    from huggingface_hub import constants
    hf_home = tmp_path / 'hf_home'
    hub_cache = hf_home / 'hub'
    hub_cache.mkdir(parents=True)
    monkeypatch.setenv('HF_HOME', str(hf_home))
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    monkeypatch.delenv('HF_HUB_CACHE', raising=False)
    monkeypatch.setattr(constants, 'HF_HUB_CACHE', str(hub_cache))
    monkeypatch.setattr(constants, 'HF_HUB_OFFLINE', True)
    return hub_cache


def timm_reference(name: str, **kwargs) -> torch.nn.Module:
    return perturb_(timm.create_model(name, pretrained=False, **kwargs)).eval()


def patch_tokens(model, x, is_timm: bool) -> torch.Tensor:
    with torch.no_grad():
        if is_timm:
            return model.forward_features(x)[:, model.num_prefix_tokens:]
        return model(x)[-1].flatten(2).transpose(1, 2)


def test_names_are_told_from_files(tmp_path, monkeypatch):
    assert is_hub_name('timm/deit3_small_patch16_224.fb_in1k')
    assert is_hub_name('hf-hub:facebook/some-vit@main')
    assert not is_hub_name('pretrain/cls_edit_s_in1k.pth')
    local = tmp_path / 'timm' / 'x.pth'
    local.parent.mkdir()
    local.write_bytes(b'')
    monkeypatch.chdir(tmp_path)
    assert not is_hub_name('timm/x.pth')  # a local file of that name wins


def test_timm_names_map_to_timm_repositories():
    assert hub_model_id('timm/deit3_small_patch16_224.fb_in1k') == 'timm/deit3_small_patch16_224.fb_in1k'
    # no tag: timm's default pretrained tag
    assert hub_model_id('timm/deit3_small_patch16_224') == 'timm/deit3_small_patch16_224.fb_in1k'
    assert hub_model_id('hf-hub:org/repo@v1') == 'org/repo@v1'
    with pytest.raises(ValueError, match=r"'timm/deit3_small_patch16_224.nope'.*timm/deit3_small_patch16_224.fb_in1k"):
        hub_model_id('timm/deit3_small_patch16_224.nope')
    with pytest.raises(ValueError, match='no pretrained weights'):
        hub_model_id('timm/not_a_model_at_all')
    with pytest.raises(ValueError, match='hf-hub:<org>/<repo>'):
        hub_model_id('hf-hub:no-slash')


def test_deit3_by_name_reproduces_timm(offline_cache):
    reference = timm_reference('deit3_small_patch16_224')
    fill_cache(offline_cache, 'timm/deit3_small_patch16_224.fb_in1k', reference.state_dict())
    model = PlainViT(arch='small', init_cfg=dict(type='Pretrained', checkpoint='timm/deit3_small_patch16_224.fb_in1k'))
    model.init_weights()
    x = torch.randn(1, 3, 224, 224)
    assert (patch_tokens(model.eval(), x, False) - patch_tokens(reference, x, True)).abs().max() <= 1e-5


def test_edit_from_a_hub_name_needs_missing_ok_for_its_decoder(offline_cache):
    fill_cache(offline_cache, 'timm/deit3_small_patch16_224.fb_in1k',
               timm_reference('deit3_small_patch16_224').state_dict())
    with pytest.raises(Exception, match='decoder'):
        load_pretrained(EDITViT(arch='small'), checkpoint='timm/deit3_small_patch16_224.fb_in1k')
    notes = load_pretrained(EDITViT(arch='small'), checkpoint='timm/deit3_small_patch16_224',
                            missing_ok=['decoder'])
    assert any('missing_ok' in note for note in notes)


def test_dinov2_registers_by_name(offline_cache):
    reference = timm_reference('vit_small_patch14_reg4_dinov2', img_size=126)
    fill_cache(offline_cache, 'timm/vit_small_patch14_reg4_dinov2.lvd142m', reference.state_dict())
    model = PlainViT(arch='small', patch_size=14, img_size=126, num_registers=4, layer_scale_init=1e-5)
    load_pretrained(model, checkpoint='timm/vit_small_patch14_reg4_dinov2.lvd142m')
    x = torch.randn(1, 3, 126, 126)
    assert (patch_tokens(model.eval(), x, False) - patch_tokens(reference, x, True)).abs().max() <= 1e-5


def test_a_name_missing_from_the_offline_cache_says_what_to_do(offline_cache):
    with pytest.raises(FileNotFoundError,
                       match=r"timm/deit3_base_patch16_224.fb_in1k.*HF_HUB_OFFLINE=1.*huggingface-cli"):
        load_pretrained(PlainViT(arch='base'), checkpoint='timm/deit3_base_patch16_224.fb_in1k')


def test_configs_with_hub_names_pass_the_file_check():
    from mmengine.config import Config
    init_cfg = dict(type='Pretrained', checkpoint='timm/deit3_small_patch16_224.fb_in1k')
    cfg = Config(dict(model=dict(backbone=dict(init_cfg=init_cfg))))
    check_pretrained_files(cfg)  # no local file needed
    cfg.model.backbone.init_cfg.checkpoint = 'pretrain/missing.pth'
    with pytest.raises(FileNotFoundError, match='timm/<model>.<tag>'):
        check_pretrained_files(cfg)


def test_convert_tool_takes_a_hub_name(offline_cache, tmp_path):
    reference = timm_reference('deit3_small_patch16_224')
    fill_cache(offline_cache, 'timm/deit3_small_patch16_224.fb_in1k', reference.state_dict())
    out = tmp_path / 'deit3_s.pth'
    proc = run_tool(['tools/convert_timm.py', 'timm/deit3_small_patch16_224.fb_in1k', str(out)])
    assert proc.returncode == 0, proc.stderr[-3000:]
    converted = torch.load(out, weights_only=True)
    assert converted['meta']['source'] == 'timm/deit3_small_patch16_224.fb_in1k'
    model = PlainViT(arch='small')
    assert load_pretrained(model, str(out)) == []
    x = torch.randn(1, 3, 224, 224)
    assert (patch_tokens(model.eval(), x, False) - patch_tokens(reference, x, True)).abs().max() <= 1e-5
    bad = run_tool(['tools/convert_timm.py', 'timm/no_such_model.x', str(tmp_path / 'x.pth')])
    assert bad.returncode != 0 and 'Traceback' not in bad.stderr and 'no pretrained weights' in bad.stderr
