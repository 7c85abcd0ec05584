"""ViTDet's simple feature pyramid against the paper's description (Li et al. 2022, Sec. 3, Fig. 2) and
detectron2's ``SimpleFeaturePyramid``: levels and strides, layers per branch, parameters counted by hand."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import MODELS
from timm.layers import LayerNorm2d
from torch import nn

import mmedit_vit  # noqa: F401  (registers SimpleFPN and LN2d)
from mmedit_vit.models.necks import SimpleFPN

LN = dict(type='LN2d', eps=1e-6)


def vit_b_neck() -> SimpleFPN:
    return MODELS.build(dict(type='SimpleFPN', backbone_channel=768, in_channels=[192, 384, 768, 768],
                             out_channels=256, num_outs=5, norm_cfg=LN))


def test_five_levels_at_strides_4_to_64_from_a_stride_16_map():
    neck = MODELS.build(dict(type='SimpleFPN', backbone_channel=32, in_channels=[8, 16, 32, 32], out_channels=24,
                             num_outs=5, norm_cfg=LN))
    x = torch.randn(2, 32, 8, 6)  # a 128x96 image at stride 16
    outs = neck((x,))
    assert [tuple(o.shape) for o in outs] == [(2, 24, 32, 24), (2, 24, 16, 12), (2, 24, 8, 6), (2, 24, 4, 3),
                                              (2, 24, 2, 2)]
    strides = [128 // o.shape[2] for o in outs]
    assert strides == [4, 8, 16, 32, 64]
    assert torch.equal(outs[4], outs[3][:, :, ::2, ::2])  # P6: P5 sub-sampled (1x1 max-pool, stride 2)
    assert all(torch.equal(a, b) for a, b in zip(neck(x), outs))  # a bare map or the backbone's 1-tuple


def test_layers_of_every_branch():
    neck = vit_b_neck()
    x4, x2, x1, half = neck.rescales
    assert [type(m) for m in x4] == [nn.ConvTranspose2d, LayerNorm2d, nn.GELU, nn.ConvTranspose2d]
    assert [(m.in_channels, m.out_channels, m.kernel_size, m.stride) for m in (x4[0], x4[3])] == [
        (768, 384, (2, 2), (2, 2)), (384, 192, (2, 2), (2, 2))]
    assert x4[1].normalized_shape == (384,) and x4[1].eps == 1e-6
    assert [type(m) for m in x2] == [nn.ConvTranspose2d] and (x2[0].out_channels, x2[0].stride) == (384, (2, 2))
    assert [type(m) for m in x1] == [nn.Identity]
    assert [type(m) for m in half] == [nn.MaxPool2d] and (half[0].kernel_size, half[0].stride) == (2, 2)
    for width, lateral, fpn in zip((192, 384, 768, 768), neck.lateral_convs, neck.fpn_convs):
        # 1x1 conv + LN, then 3x3 conv + LN, no activation, no bias under a norm (detectron2 use_bias = norm == '')
        assert (lateral.conv.in_channels, lateral.conv.out_channels, lateral.conv.kernel_size) == (width, 256, (1, 1))
        assert (fpn.conv.in_channels, fpn.conv.kernel_size, fpn.conv.padding) == (256, (3, 3), (1, 1))
        for conv in (lateral, fpn):
            assert conv.conv.bias is None and not conv.with_activation
            assert [type(m) for m in conv.children()] == [nn.Conv2d, LayerNorm2d] and conv.order[:2] == ('conv', 'norm')


def test_parameter_count_by_hand_for_vit_b():
    c, out = 768, 256
    deconv = lambda i, o: i * o * 2 * 2 + o  # noqa: E731  (2x2 kernel, with bias)
    ln = lambda n: 2 * n  # noqa: E731
    rescale = deconv(c, c // 2) + ln(c // 2) + deconv(c // 2, c // 4) + deconv(c, c // 2)
    convs = sum(w * out + ln(out) + out * out * 9 + ln(out) for w in (c // 4, c // 2, c, c))
    assert rescale == 2 * 1_180_032 + 768 + 295_104  # two 768->384 deconvolutions (x4, x2), LN, 384->192
    assert convs == (192 + 384 + 768 + 768) * 256 + 4 * 589_824 + 8 * 512  # 1x1s, 3x3s, eight LNs
    assert sum(p.numel() for p in vit_b_neck().parameters()) == rescale + convs == 5_560_000


def test_layer_norm_2d_normalises_each_position_over_the_channels():
    from mmcv.cnn import build_norm_layer
    name, norm = build_norm_layer(LN, 6)
    assert name == 'ln' and norm.eps == 1e-6
    x = torch.randn(2, 6, 3, 4)
    ref = F.layer_norm(x.permute(0, 2, 3, 1), (6,), eps=1e-6).permute(0, 3, 1, 2)
    assert torch.allclose(norm(x), ref, atol=1e-6)


@pytest.mark.parametrize('kwargs,match', [
    (dict(in_channels=[8, 16, 32, 16]), r'in_channels=\[8, 16, 32, 16\] does not match backbone_channel=32'),
    (dict(norm_cfg=None), 'norm_cfg is needed'),
    (dict(num_outs=3), 'num_outs=3'),
    (dict(backbone_channel=30, in_channels=[7, 15, 30, 30]), 'divisible by 4'),
])
def test_bad_arguments_are_refused(kwargs, match):
    args = dict(backbone_channel=32, in_channels=[8, 16, 32, 32], norm_cfg=LN)
    with pytest.raises(ValueError, match=match):
        SimpleFPN(**dict(args, **kwargs))


def test_several_backbone_maps_are_refused():
    neck = SimpleFPN(32, [8, 16, 32, 32], norm_cfg=LN)
    with pytest.raises(ValueError, match="out_indices=\\(-1,\\)"):
        neck((torch.zeros(1, 32, 4, 4), torch.zeros(1, 32, 4, 4)))
