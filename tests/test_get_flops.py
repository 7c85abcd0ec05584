"""tools/get_flops.py: classification, segmentation and detection configs, and the EDIT Table 1 check."""
import os.path as osp

import pytest
import timm
from mmengine.config import Config
from mmengine.registry import MODELS

from mmedit_vit.analysis import count_flops, count_parameters
from mmedit_vit.analysis.paper_tables import EDIT_TABLE1
from mmedit_vit.apis import get_flops
from mmedit_vit.apis.config_complexity import default_shape, task_of
from tool_runner import run_tool

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def config(name):
    return osp.join(ROOT, 'configs', name)


def test_all_reproduces_edit_table1(capsys):
    rows = get_flops.main(['--all', '--variants', 'edit'])
    assert [r['size'] for r in rows] == ['tiny', 'small', 'base']
    for r in rows:
        params, flops = EDIT_TABLE1[r['size']]
        assert abs(r['params'] / (params * 1e6) - 1) < 0.01
        assert abs(r['flops'] / (flops * 1e9) - 1) < 0.03
        assert r['params_dev'] == pytest.approx(r['params'] / (params * 1e6) - 1)
    out = capsys.readouterr().out
    assert '| edit | small | 22.36 | 5.29 | 22.30M / 5.28G |' in out


def test_classification_config_counts_like_timm_deit_tiny(capsys):
    result = get_flops.main([config('cls_deit3_t_in1k.py')])
    timm_tiny = timm.create_model('deit_tiny_patch16_224')  # the same network without LayerScale
    assert result['task'] == 'cls' and result['shape'] == (224, 224)
    # + LayerScale (2 x 192 per block); - the [CLS] slot of DeiT's position embedding (DeiT-III has none)
    assert result['params'] == count_parameters(timm_tiny) + 2 * 192 * 12 - 192
    assert result['flops'] == count_flops(timm_tiny)  # LayerScale's products are not multiply-adds
    assert 'params: 5.72M' in capsys.readouterr().out


def test_segmentation_config_counts_backbone_and_head():
    cfg = Config.fromfile(config('segmenter_deit3_t_ade20k.py'))
    assert task_of(cfg) == 'seg' and default_shape(cfg, 'seg') == (512, 512)
    result = get_flops.main([config('segmenter_deit3_t_ade20k.py'), '--shape', '64'])
    backbone = MODELS.build(dict(type='PlainViT', arch='tiny', img_size=64))
    assert result['shape'] == (64, 64) and result['model'] == 'EncoderDecoder'
    head_params = result['params'] - count_parameters(backbone)
    assert 0 < head_params < count_parameters(backbone)  # Segmenter's 2-layer mask transformer
    assert result['flops'] > count_flops(backbone, img_size=64)


def test_detection_config_counts_the_whole_detector():
    options = ['model.test_cfg.rpn.nms_pre=20', 'model.test_cfg.rpn.max_per_img=10']
    result = get_flops.main([config('maskrcnn_deit3_t_coco.py'), '--shape', '64', '96', '--cfg-options'] + options)
    backbone = MODELS.build(dict(type='PlainViT', arch='tiny', img_size=224, out_indices=(3, 5, 7, 11)))
    assert result['task'] == 'det' and result['model'] == 'MaskRCNN' and result['shape'] == (64, 96)
    assert result['params'] > 4 * count_parameters(backbone)  # FPN, RPN, box and mask heads dominate
    assert result['flops'] > count_flops(backbone, img_size=(64, 96))


def test_command_line_on_a_bare_backbone(tmp_path):
    cfg = tmp_path / 'bb.py'
    cfg.write_text("model = dict(type='EDITViT', arch=dict(embed_dims=32, num_heads=2, depth=2), out_cls_token=True)\n")
    proc = run_tool(['tools/get_flops.py', str(cfg), '--shape', '32'])
    assert proc.returncode == 0, proc.stderr
    backbone = MODELS.build(dict(type='EDITViT', arch=dict(embed_dims=32, num_heads=2, depth=2), out_cls_token=True))
    assert f'input shape: 1x3x32x32\nparams: {count_parameters(backbone) / 1e6:.2f}M' in proc.stdout
    assert f'flops:  {count_flops(backbone, img_size=32) / 1e9:.2f}G' in proc.stdout
    bad = run_tool(['tools/get_flops.py'])
    assert bad.returncode == 2 and 'give a CONFIG or --all' in bad.stderr
