"""Every task family normalises inputs with the one ImageNet mean/std the backbones were pretrained on."""
import os.path as osp

import pytest
from mmengine.config import Config

from conftest import ROOT
from mmedit_vit.apis.config_model import normalisation
from mmedit_vit.datasets import IMAGENET_MEAN, IMAGENET_STD


def test_constants_are_timms_imagenet_statistics_in_pixel_units():
    assert IMAGENET_MEAN == (123.675, 116.28, 103.53)
    assert IMAGENET_STD == (58.395, 57.12, 57.375)


@pytest.mark.parametrize('name', ['segmenter_edit_b_ade20k.py', 'upernet_cb_s_ade20k.py', 'maskrcnn_deit3_t_coco.py',
                                  'cls_gated_s_in100.py', 'demo/segmenter_edit_t_synthetic_ade20k.py'])
def test_configs_use_the_imagenet_statistics(name):
    mean, std, _ = normalisation(Config.fromfile(osp.join(ROOT, 'configs', name)))
    assert tuple(mean) == pytest.approx(IMAGENET_MEAN) and tuple(std) == pytest.approx(IMAGENET_STD)
