"""Parameter and FLOP counts against the EDIT paper's Table 1 and timm's published DeiT-III-S figure."""
import pytest
import timm
import torch

from mmedit_vit.analysis import LinearClassifier, count_flops, count_parameters
from mmedit_vit.analysis.paper_tables import EDIT_TABLE1
from mmedit_vit.models import EDITViT
from mmedit_vit.models.layers import Attention


def test_sdpa_is_counted():
    attn = Attention(64, num_heads=4)
    n = 10

    class Wrap(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = attn

        def forward(self, x):
            return self.attn(x.flatten(2).transpose(1, 2))

    # qkv (3·N·d²) + proj (N·d²) + QK^T and AV (2·N²·d)
    assert count_flops(Wrap(), img_size=(2, 5), in_channels=64) == 4 * n * 64 * 64 + 2 * n * n * 64


def test_timm_deit3_small_counts_as_published():
    model = timm.create_model('deit3_small_patch16_224')
    assert count_parameters(model) / 1e6 == pytest.approx(22.06, rel=1e-3)
    assert count_flops(model) / 1e9 == pytest.approx(4.61, rel=2e-3)


@pytest.mark.parametrize('arch', ['tiny', 'small', 'base'])
def test_edit_matches_table1(arch):
    # EDIT-T is built on DeiT-T (no LayerScale); EDIT-S/B on DeiT-III
    backbone = EDITViT(arch=arch, out_cls_token=True, layer_scale_init=None if arch == 'tiny' else 1e-6)
    model = LinearClassifier(backbone, num_classes=1000)
    params, flops = EDIT_TABLE1[arch]
    assert count_parameters(model) / 1e6 == pytest.approx(params, rel=0.01)
    assert count_flops(model) / 1e9 == pytest.approx(flops, rel=0.03)
