"""The backbones are found by mmsegmentation's and mmdetection's builders (mmengine's root registry)."""
import pytest
import torch
from mmdet.registry import MODELS as MMDET_MODELS
from mmengine.registry import MODELS
from mmseg.registry import MODELS as MMSEG_MODELS

from mmedit_vit.models import CBViT, EDITViT, GatedViT, PlainViT

NAMES = {'PlainViT': PlainViT, 'GatedViT': GatedViT, 'CBViT': CBViT, 'EDITViT': EDITViT}


@pytest.mark.parametrize('registry', [MODELS, MMSEG_MODELS, MMDET_MODELS], ids=['mmengine', 'mmseg', 'mmdet'])
@pytest.mark.parametrize('name', sorted(NAMES))
def test_builders_find_backbones(registry, name):
    model = registry.build(dict(type=name, arch='tiny', img_size=64, out_indices=(3, 11)))
    assert type(model) is NAMES[name]
    outs = model(torch.randn(1, 3, 64, 64))
    assert [o.shape for o in outs] == [(1, 192, 4, 4)] * 2


def test_build_with_scope_prefix_and_pretrained_cfg(tmp_path):
    torch.save(PlainViT(arch='tiny').state_dict(), tmp_path / 'tiny.pth')
    model = MMSEG_MODELS.build(dict(type='EDITViT', arch='tiny', gate='headwise', num_registers=4,
                                    init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'tiny.pth'),
                                                  missing_ok=['decoder', 'gate', 'reg_token'])))
    model.init_weights()
    assert model.num_prefix_tokens == 4 and model.decoder is not None
    assert torch.equal(model.blocks[0].attn.qkv.weight, torch.load(tmp_path / 'tiny.pth')['blocks.0.attn.qkv.weight'])


def test_pretrained_backbone_inside_an_mmseg_segmentor(tmp_path):
    """The segmentor's init_weights reaches the backbone's strict loader (mmengine's init bookkeeping intact)."""
    import mmseg.models  # noqa: F401  (registers mmseg's modules)
    from mmengine.config import ConfigDict
    from mmengine.registry import DefaultScope
    reference = PlainViT(arch='tiny', img_size=64)
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in reference.state_dict().items()}}, tmp_path / 'c.pth')
    cfg = ConfigDict(
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', size=(64, 64)),
        backbone=dict(type='EDITViT', arch='tiny', img_size=64, out_indices=(11,),
                      init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'c.pth'), missing_ok=['decoder'])),
        decode_head=dict(type='FCNHead', in_channels=192, channels=32, num_convs=1, num_classes=4,
                         loss_decode=dict(type='CrossEntropyLoss')),
        test_cfg=dict(mode='whole'))
    with DefaultScope.overwrite_default_scope('mmseg'):
        segmentor = MMSEG_MODELS.build(cfg)
    segmentor.init_weights()
    assert torch.equal(segmentor.backbone.pos_embed, reference.pos_embed)
    logits = segmentor(torch.randn(1, 3, 64, 64), mode='tensor')
    assert logits.shape == (1, 4, 4, 4)
