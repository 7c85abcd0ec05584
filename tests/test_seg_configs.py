"""Every segmentation config builds its model and dataloaders, trains one step and infers (slide or whole).

The training step and inference run at full size for every Tiny config and for two Base ones (the README's
entry point and CB's UperNet): what they check (finite losses and gradients, every parameter in the graph, a step
that moves the head, the output shapes) does not depend on the width. The other Small and Base configs are built
on the meta device, with their optimiser's parameter groups and a forward of their own widths; the model index
(``tests/test_model_index.py``) runs every config's forward on the meta device as well.
"""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmseg.registry import MODELS

from conftest import slow_except
from mmedit_vit.datasets import make_synthetic_ade20k
from seg_helpers import DEMO_CONFIG, ROOT, point_at_data

ALL_CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', 'segmenter_*.py'))
                     + glob.glob(osp.join(ROOT, 'configs', 'upernet_*.py')))
SEG_CONFIGS = [p for p in ALL_CONFIGS if not p.endswith('_40k.py')] + [DEMO_CONFIG]
SHORT_CONFIGS = [p for p in ALL_CONFIGS if p.endswith('_40k.py')]
VARIANT_TYPES = {'deit3': 'PlainViT', 'reg4': 'PlainViT', 'edit': 'EDITViT', 'gated': 'GatedViT', 'cb': 'CBViT'}
WIDTHS = {'t': 192, 's': 384, 'b': 768}
FULL_SIZE = ('segmenter_edit_b_ade20k.py', 'upernet_cb_b_ade20k.py')  # trained and run at Base width


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    return make_synthetic_ade20k(str(tmp_path_factory.mktemp('ade')), num_train=4, num_val=2, size=(64, 80))


def small_batch(data_root: str, size=(64, 64)):
    """Two training samples through mmseg's own loading, resized small."""
    from mmseg.datasets import ADE20KDataset
    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', reduce_zero_label=True),
                dict(type='Resize', scale=size[::-1], keep_ratio=False), dict(type='PackSegInputs')]
    dataset = ADE20KDataset(data_root=data_root, pipeline=pipeline,
                            data_prefix=dict(img_path='images/training', seg_map_path='annotations/training'))
    samples = [dataset[0], dataset[1]]
    return dict(inputs=[s['inputs'] for s in samples], data_samples=[s['data_samples'] for s in samples])


def test_all_families_are_there():
    names = {osp.basename(p) for p in ALL_CONFIGS}
    assert len(names) == 45
    for variant in VARIANT_TYPES:
        for size in WIDTHS:
            for name in (f'segmenter_{variant}_{size}_ade20k.py', f'upernet_{variant}_{size}_ade20k.py',
                         f'upernet_{variant}_{size}_ade20k_40k.py'):
                assert name in names


@pytest.mark.parametrize('path', slow_except(SEG_CONFIGS, keep=[DEMO_CONFIG]), ids=lambda p: osp.basename(p)[:-3])
def test_config_builds_trains_and_infers(path, data_root):
    init_default_scope('mmseg')
    cfg = point_at_data(Config.fromfile(path), data_root)
    assert cfg.custom_imports.imports == ['mmedit_vit'] and cfg.default_scope == 'mmseg'
    name = osp.basename(path)
    if not name.startswith('segmenter_edit_t_synthetic'):
        variant, size = name.split('_')[1:3]
        assert cfg.model.backbone.type == VARIANT_TYPES[variant]
        assert cfg.model.backbone.num_registers if variant == 'reg4' else not cfg.model.backbone.get('num_registers')
        assert cfg.model.backbone.init_cfg is None  # set by point_at_data; the file names a checkpoint
        assert Config.fromfile(path).model.backbone.init_cfg.checkpoint == f'pretrain/cls_{variant}_{size}_in1k.pth'

    loader = Runner.build_dataloader(cfg.train_dataloader)
    assert len(loader.dataset) == 4 and len(Runner.build_dataloader(cfg.test_dataloader).dataset) == 2

    cfg.model.data_preprocessor.size = (64, 64)
    if cfg.model.test_cfg.mode == 'slide':
        cfg.model.test_cfg.crop_size, cfg.model.test_cfg.stride = (32, 32), (24, 24)
    if name.split('_')[2] in ('s', 'b') and name not in FULL_SIZE:
        check_structure_on_meta(cfg, WIDTHS[name.split('_')[2]])
        return
    model = MODELS.build(cfg.model)
    model.init_weights()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    # one training iteration, as train_step does it, with the gradients inspected before the step
    data = model.data_preprocessor(small_batch(data_root), True)
    loss, _ = model.parse_losses(model(**data, mode='loss'))
    assert torch.isfinite(loss)
    optim_wrapper.backward(loss)
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    no_grad = [n for n, p in trainable.items() if p.grad is None]
    assert not no_grad, f'parameters outside the graph (DDP would fail): {no_grad}'
    assert all(torch.isfinite(p.grad).all() for p in trainable.values())
    before = model.decode_head.state_dict()['layers.0.ln1.weight' if 'Segmenter' in cfg.model.decode_head.type
                                            else 'conv_seg.weight'].clone()
    optim_wrapper.step()
    after = model.decode_head.state_dict()['layers.0.ln1.weight' if 'Segmenter' in cfg.model.decode_head.type
                                           else 'conv_seg.weight']
    assert not torch.equal(before, after)

    model.eval()
    batch = small_batch(data_root, size=(64, 80))
    with torch.no_grad():
        preds = model.test_step(batch)
    assert len(preds) == 2
    assert preds[0].pred_sem_seg.data.shape == (1, 64, 80)
    assert preds[0].seg_logits.data.shape == (150, 64, 80)


def check_structure_on_meta(cfg: Config, width: int) -> None:
    """The model of ``cfg`` on the meta device at its own ``width``: every trainable parameter in an optimiser
    group (layer decay included), and a forward giving 150 class maps."""
    from mmedit_vit.apis.config_complexity import build_on_meta
    model = build_on_meta(cfg)
    assert model.backbone.embed_dims == width and model.backbone.patch_embed.proj.weight.is_meta
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    grouped = {id(p) for group in optim_wrapper.optimizer.param_groups for p in group['params']}
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert len(trainable) > 100 and not [n for n, p in model.named_parameters() if p.requires_grad
                                         and id(p) not in grouped]
    with torch.no_grad():
        logits = model(torch.zeros(2, 3, 64, 64, device='meta'), mode='tensor')
    assert tuple(logits.shape[:2]) == (2, 150)


@pytest.mark.parametrize('path', slow_except(SHORT_CONFIGS, keep=SHORT_CONFIGS[:1]), ids=lambda p: osp.basename(p)[:-3])
def test_40k_configs_are_the_160k_model_on_the_short_schedule(path, data_root):
    short, long = Config.fromfile(path), Config.fromfile(path.replace('_40k.py', '.py'))
    assert short.model == long.model  # built and trained by the 160k config's test
    assert short.train_cfg.max_iters == 40000 and long.train_cfg.max_iters == 160000
    assert [s.end for s in short.param_scheduler] == [1500, 40000]
    assert [s.end for s in long.param_scheduler] == [1500, 160000]
    assert short.optim_wrapper == long.optim_wrapper and short.train_dataloader == long.train_dataloader
    assert len(Runner.build_dataloader(point_at_data(short, data_root).train_dataloader).dataset) == 4


@pytest.mark.parametrize('name,paper_millions', [('deit3_s', 26), ('edit_s', 27), ('deit3_b', 103), ('edit_b', 105)])
def test_segmenter_sizes_match_edit_table_5(name, paper_millions):
    """EDIT paper, Table 5 (sizes rounded to 1M): Seg-S-Mask 26M / 27M, Seg-B-Mask 103M / 105M (DeiT3 / EDIT)."""
    init_default_scope('mmseg')
    cfg = Config.fromfile(osp.join(ROOT, 'configs', f'segmenter_{name}_ade20k.py'))
    cfg.model.backbone.init_cfg = None
    millions = sum(p.numel() for p in MODELS.build(cfg.model).parameters()) / 1e6
    # ours: 26.04M / 26.34M / 102.52M / 103.70M; EDIT's shared decoder adds 2d^2 + 6d
    assert abs(millions - paper_millions) / paper_millions < 0.03
