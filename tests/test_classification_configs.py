"""Every classification config loads, builds its real model (on the meta device: shapes without
memory or time) and gives one logit per class of its dataset; missing data stops with a clear message."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS

from conftest import ROOT, slow_except
from mmedit_vit.apis import DatasetNotFoundError, check_data_roots
from mmedit_vit.models.backbones import BACKBONE_VARIANTS

CONFIGS = (sorted(glob.glob(osp.join(ROOT, 'configs', 'cls_*.py')))
           + [osp.join(ROOT, 'configs', 'demo', 'cls_edit_t_synthetic.py')])
VARIANTS = {'deit3': ('PlainViT', 0), 'deit': ('PlainViT', 0), 'reg4': ('PlainViT', 4), 'gated': ('GatedViT', 0),
            'cb': ('CBViT', 0), 'edit': ('EDITViT', 0), 'reg2': ('PlainViT', 2), 'reg8': ('PlainViT', 8),
            'reg16': ('PlainViT', 16), 'reg32': ('PlainViT', 32)}
WIDTHS = {'t': 192, 's': 384, 'b': 768}
CLASSES = {'in1k': 1000, 'in100': 100, 'in21k': 10450, 'in21k-ft-in1k': 1000, 'cifar10': 10, 'cifar100': 100,
           'flowers102': 102, 'dtd': 47, 'caltech256': 257, 'synthetic': 4}


def test_the_config_families_are_complete():
    names = {osp.basename(c)[:-3] for c in CONFIGS}
    for variant in BACKBONE_VARIANTS:
        for size in 'tsb':
            assert {f'cls_{variant}_{size}_in1k', f'cls_{variant}_{size}_in100'} <= names
        assert {f'cls_{variant}_{s}_in21k' for s in 'sb'} <= names
        assert {f'cls_{variant}_b_{d}' for d in ('cifar10', 'cifar100', 'flowers102', 'dtd', 'caltech256')} <= names
    assert {f'cls_reg{k}_s_in100' for k in (2, 4, 8, 16, 32)} <= names
    assert {f'cls_{v}_s_in100_lr{lr}' for v in ('gated', 'reg4') for lr in ('1e-3', '5e-3')} <= names
    assert {f'cls_deit_{s}_in1k' for s in 'tsb'} | {'cls_gated_s_in100_value', 'cls_gated_s_in100_headwise'} <= names
    assert {f'cls_{v}_{s}_in21k-ft-in1k{r}' for v in ('deit3', 'edit') for s in 'sb' for r in ('', '_384')} <= names


@pytest.mark.parametrize('path', slow_except(CONFIGS, keep=CONFIGS[-1:]), ids=[osp.basename(c)[:-3] for c in CONFIGS])
def test_config_builds_and_gives_the_dataset_logits(path):
    cfg = Config.fromfile(path)
    _, variant, size, dataset = osp.basename(path)[:-3].split('_')[:4]
    assert cfg.default_scope == 'mmedit_vit' and cfg.custom_imports.imports == ['mmedit_vit']
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
        logits = model(torch.empty(2, 3, 224, 224), mode='tensor')
    assert logits.shape == (2, CLASSES[dataset])
    backbone_type, registers = VARIANTS[variant]
    assert type(model.backbone).__name__ == backbone_type and model.backbone.num_registers == registers
    assert model.backbone.embed_dims == WIDTHS[size]
    assert cfg.train_dataloader.batch_size % 2 == 0 and cfg.train_dataloader.drop_last  # Mixup/CutMix pairs
    if dataset in ('cifar10', 'cifar100', 'flowers102', 'dtd', 'caltech256'):
        assert cfg.model.backbone.init_cfg == dict(type='Pretrained', checkpoint=f'pretrain/cls_{variant}_b_in1k.pth')


def test_missing_imagenet_stops_with_a_clear_message(tmp_path):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'cls_edit_s_in1k.py'))
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[split].dataset.data_root = str(tmp_path / 'imagenet')
    with pytest.raises(DatasetNotFoundError) as err:
        check_data_roots(cfg)
    message = str(err.value)
    assert str(tmp_path / 'imagenet' / 'train') in message and 'ILSVRC2012' in message
    assert 'demo_classification.py' in message
