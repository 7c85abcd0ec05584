"""Configs and tools inside the package, the OpenMMLab way: wheels carry them, editable installs link them,
``mim train/test mmedit_vit CONFIG`` runs them from any folder, other projects inherit them through the
``mmedit_vit::`` scope (docs/getting_started.md, "Use the configs from another project")."""
import os
import os.path as osp
import runpy
import shutil
import subprocess
import sys
import zipfile

import pytest
import setuptools
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

from conftest import ROOT
from mmedit_vit.utils.config_scope import LOCATOR, SCOPE  # imports mmedit_vit: the scope is registered

DOWNSTREAM_LINE = "_base_ = ['mmedit_vit::configs/segmenter_edit_t_ade20k.py']"
DOWNSTREAM_CONFIG = DOWNSTREAM_LINE + '''
crop_size = (64, 64)
model = dict(backbone=dict(init_cfg=None), data_preprocessor=dict(size=crop_size),
             test_cfg=dict(crop_size=(32, 32), stride=(16, 16)))
'''


def tracked_copy(dst: str) -> str:
    """The checkout's files as a fresh clone has them (tracked and new, not ignored; no ``.mim``)."""
    files = subprocess.run(['git', 'ls-files', '-co', '--exclude-standard'], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split()
    for rel in files:
        if rel.startswith('mmedit_vit/.mim') or not osp.isfile(osp.join(ROOT, rel)):
            continue
        os.makedirs(osp.dirname(osp.join(dst, rel)), exist_ok=True)
        shutil.copy2(osp.join(ROOT, rel), osp.join(dst, rel))
    return dst


def run_setup(src: str, command: str) -> None:
    """setup.py's module-level work for ``command`` (what pip's build backend runs), setup() itself skipped."""
    argv, patch = sys.argv, pytest.MonkeyPatch()
    patch.setattr(setuptools, 'setup', lambda **kwargs: None)
    sys.argv = ['setup.py', command]
    try:
        runpy.run_path(osp.join(src, 'setup.py'), run_name='__main__')
    finally:
        sys.argv = argv
        patch.undo()


@pytest.fixture(scope='module')
def wheel(tmp_path_factory) -> str:
    """``pip wheel`` of a clean copy of the checkout (~2 s; building in place would replace the links)."""
    base = tmp_path_factory.mktemp('wheel')
    src = tracked_copy(str(base / 'src'))
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q', '-w',
                    str(base / 'dist'), src], check=True, capture_output=True, text=True)
    (path,) = (base / 'dist').glob('mmedit_vit-*.whl')
    return str(path)


def test_wheel_carries_configs_tools_and_model_index(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    configs = {n for n in names if n.startswith('mmedit_vit/.mim/configs/configs/')}
    tops = sorted(f for f in os.listdir(osp.join(ROOT, 'configs')) if f.endswith('.py'))
    assert {f'mmedit_vit/.mim/configs/configs/{f}' for f in tops} <= configs
    assert 'mmedit_vit/.mim/configs/configs/_base_/datasets/ade20k.py' in configs
    assert 'mmedit_vit/.mim/configs/configs/demo/segmenter_edit_t_synthetic_ade20k.py' in configs
    assert {'mmedit_vit/.mim/configs/configs/segmentation/metafile.yaml', 'mmedit_vit/.mim/model-index.yml'} <= names
    tools = sorted(f for f in os.listdir(osp.join(ROOT, 'tools')) if f.endswith(('.py', '.sh')))
    assert {f'mmedit_vit/.mim/tools/{f}' for f in tools} <= names
    assert not any('__pycache__' in n for n in names)
    index = zipfile.ZipFile(wheel).read('mmedit_vit/.mim/model-index.yml').decode()
    assert '- configs/configs/segmentation/metafile.yaml' in index  # paths relative to .mim


def test_editable_install_links_and_git_ignores(tmp_path):
    src = tracked_copy(str(tmp_path / 'src'))
    run_setup(src, 'editable_wheel')
    mim = osp.join(src, 'mmedit_vit', '.mim')
    assert osp.islink(osp.join(mim, 'configs', 'configs')) and osp.islink(osp.join(mim, 'tools'))
    assert osp.realpath(osp.join(mim, 'configs', 'configs')) == osp.realpath(osp.join(src, 'configs'))
    assert osp.isfile(osp.join(mim, 'configs', 'configs', 'segmenter_edit_b_ade20k.py'))
    run_setup(src, 'egg_info')  # other commands leave .mim as it is
    assert osp.islink(osp.join(mim, 'tools'))
    ignored = subprocess.run(['git', 'check-ignore', 'mmedit_vit/.mim/tools', 'mmedit_vit/.mim/model-index.yml'],
                             cwd=ROOT, capture_output=True, text=True)
    assert ignored.returncode == 0 and len(ignored.stdout.split()) == 2


def test_import_registers_the_scope():
    from mmengine.config import utils
    assert utils.MODULE2PACKAGE[SCOPE] == LOCATOR
    assert utils._get_package_and_cfg_path('mmedit_vit::configs/segmenter_edit_b_ade20k.py') == \
        (LOCATOR, 'configs/segmenter_edit_b_ade20k.py')
    from mmengine.utils import get_installed_path
    assert osp.realpath(get_installed_path(LOCATOR)) == osp.realpath(osp.join(ROOT, 'mmedit_vit'))


@pytest.fixture
def downstream_config(tmp_path) -> str:
    """Another project's config, in a folder outside the checkout, inheriting ours by scope."""
    mim = osp.join(ROOT, 'mmedit_vit', '.mim')
    if not (osp.isdir(osp.join(mim, 'configs', 'configs')) and osp.isfile(osp.join(mim, 'model-index.yml'))):
        run_setup(ROOT, 'editable_wheel')  # what `pip install -e .` sets up
    path = tmp_path / 'my_project' / 'my_segmenter.py'
    path.parent.mkdir()
    path.write_text(DOWNSTREAM_CONFIG)
    assert not str(path).startswith(ROOT)
    return str(path)


@pytest.mark.usefixtures('one_thread')
def test_downstream_config_inherits_builds_and_trains_one_step(downstream_config):
    from mmseg.registry import MODELS
    from test_openmmlab_configs import seg_batch

    cfg = Config.fromfile(downstream_config)
    ours = Config.fromfile(osp.join(ROOT, 'configs', 'segmenter_edit_t_ade20k.py'))
    assert cfg.model.backbone.type == 'EDITViT' and cfg.default_scope == 'mmseg'
    assert cfg.optim_wrapper == ours.optim_wrapper and cfg.param_scheduler == ours.param_scheduler
    assert cfg.model.decode_head == ours.model.decode_head
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(cfg.model)
        model.init_weights()
        optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
        before = model.backbone.blocks[0].attn.qkv.weight.detach().clone()
        model.train()
        losses = model.train_step(seg_batch(), optim_wrapper)
    assert torch.isfinite(losses['decode.loss_ce'])
    assert not torch.equal(before, model.backbone.blocks[0].attn.qkv.weight)


READ_CONFIG = 'from mmengine.config import Config; print(Config.fromfile({path!r}).model.backbone.type)'


def test_the_limit_a_config_read_before_mmedit_vit_is_imported(downstream_config):
    """mmengine's table is fixed: a process that reads the config before importing mmedit_vit (mmseg's own
    tools/train.py does) cannot resolve the scope; importing mmedit_vit first is the supported way."""
    env = {**os.environ, 'PYTHONPATH': ROOT + os.pathsep + os.environ.get('PYTHONPATH', '')}
    bare = subprocess.run([sys.executable, '-c', READ_CONFIG.format(path=downstream_config)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert bare.returncode != 0 and 'does not support to load mmedit_vit config' in bare.stderr
    imported = subprocess.run([sys.executable, '-c', 'import mmedit_vit; ' + READ_CONFIG.format(
        path=downstream_config)], env=env, capture_output=True, text=True, timeout=300)
    assert imported.returncode == 0, imported.stderr[-2000:]
    assert imported.stdout.split()[-1] == 'EDITViT'


@pytest.fixture(scope='module')
def installed(wheel, tmp_path_factory) -> str:
    """The wheel installed into a folder of its own (a user's ``pip install mmedit_vit``)."""
    site = str(tmp_path_factory.mktemp('site'))
    subprocess.run([sys.executable, '-m', 'pip', 'install', '--no-deps', '-q', '--target', site, wheel],
                   check=True, capture_output=True, text=True)
    return site


@pytest.mark.slow
def test_mim_train_and_test_run_our_configs_from_any_folder(installed, tmp_path):
    mim = shutil.which('mim', path=osp.dirname(sys.executable))
    assert mim, 'openmim is a dev dependency: pip install -e .[dev]'
    env = {**os.environ, 'PYTHONPATH': installed, 'OMP_NUM_THREADS': '1'}
    from mmedit_vit.datasets.synthetic_ade20k import main as generate  # what `python -m ...` runs, in-process
    data = str(tmp_path / 'data')
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, 'argv', ['synthetic_ade20k', data, '--train', '4', '--val', '2'])
        generate()
    roots = [f'{split}.dataset.data_root={data}' for split in ('train_dataloader', 'val_dataloader',
                                                                 'test_dataloader')]
    work = str(tmp_path / 'work')
    train = subprocess.run(
        [mim, 'train', 'mmedit_vit', 'segmenter_edit_t_synthetic_ade20k.py', '--work-dir', work, '--cfg-options',
         *roots, 'train_cfg.max_iters=2', 'train_cfg.val_interval=2', 'train_dataloader.batch_size=2',
         'default_hooks.checkpoint.interval=2', 'param_scheduler=None'],
        env=env, cwd=str(tmp_path), capture_output=True, text=True, timeout=900)
    assert train.returncode == 0, train.stdout[-3000:] + train.stderr[-3000:]
    assert osp.isfile(osp.join(work, 'iter_2.pth'))
    run_dirs = [d for d in os.listdir(work) if osp.isdir(osp.join(work, d))]
    log = open(osp.join(work, run_dirs[0], f'{run_dirs[0]}.log')).read()
    assert osp.join(installed, 'mmedit_vit', '.mim', 'configs') in train.stdout + train.stderr + log
    test = subprocess.run(
        [mim, 'test', 'mmedit_vit', 'segmenter_edit_t_synthetic_ade20k.py', '--checkpoint',
         osp.join(work, 'iter_2.pth'), '--work-dir', str(tmp_path / 'test'), '--cfg-options', *roots],
        env=env, cwd=str(tmp_path), capture_output=True, text=True, timeout=900)
    assert test.returncode == 0, test.stdout[-3000:] + test.stderr[-3000:]
    assert 'mIoU' in test.stdout + test.stderr
