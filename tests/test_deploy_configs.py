"""ONNX export of the shipped configs (every family, Segmenter, UperNet, Mask R-CNN, ViTDet) through
tools/export.py, and tools/test.py CONFIG model.onnx against the PyTorch checkpoint on demo data.

All slow: a 12-block Tiny model takes half a minute to two minutes to export on a shared 2-core machine. The
configs are exported with 2 to 4 blocks (the ones the neck reads), their own backbone, neck and head options
otherwise, which is what decides whether a model exports.
"""
import os.path as osp

import pytest
import torch

pytest.importorskip('onnxruntime', reason='the deploy extra (pip install -e .[deploy]) is not installed')

from mmengine.config import Config  # noqa: E402
from mmengine.runner import save_checkpoint  # noqa: E402

from conftest import perturb_  # noqa: E402
from mmedit_vit.deploy import TOLERANCE, onnx_shapes  # noqa: E402
from mmedit_vit.deploy.export_cli import main as export_main  # noqa: E402
from mmedit_vit.deploy.graphs import export_graph  # noqa: E402
from mmedit_vit.deploy.ort_session import OrtSession  # noqa: E402
from mmedit_vit.deploy.parity import compare  # noqa: E402
from mmedit_vit.deploy.task_model import build_task_model  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
pytestmark = pytest.mark.slow

# family -> a shipped config of it (Tiny where one exists) and the backbone options the test adds
FAMILY_CONFIGS = {
    'deit3': ('cls_deit3_t_in1k.py', {}),
    'reg4': ('cls_reg4_t_in1k.py', {}),
    'gated elementwise': ('cls_gated_t_in1k.py', {}),
    'gated headwise': ('cls_gated_s_in100_headwise.py', {}),
    'gated value': ('cls_gated_s_in100_value.py', {}),
    'cb': ('cls_cb_t_in1k.py', {}),
    'cbs': ('cls_cb_t_in1k.py', dict(cb_mode='cbs', cb_layers=[1])),
    'edit': ('cls_edit_t_in1k.py', {}),
}


def shallow_config(name: str, tmp_path, depth: int = 2, **backbone) -> str:
    """The shipped config with ``depth`` blocks (and ``backbone`` options), written to a file."""
    from mmedit_vit.models.backbones.vit import resolve_arch
    cfg = Config.fromfile(osp.join(ROOT, 'configs', name))
    arch = cfg.model.backbone.get('arch', 'small')
    cfg.model.backbone.update(arch=dict(resolve_arch(arch), depth=depth), **backbone)
    path = str(tmp_path / osp.basename(name))
    cfg.dump(path)
    return path


@pytest.mark.parametrize('family', list(FAMILY_CONFIGS))
def test_every_family_config_exports_dynamic(family, tmp_path):
    name, options = FAMILY_CONFIGS[family]
    config = shallow_config(name, tmp_path, **options)
    out = str(tmp_path / 'model.onnx')
    summary = export_main([config, 'none', '--out', out, '--shape', '64', '64', '--dynamic'])
    assert summary['input'] == ['batch', 3, 'height', 'width']
    num_classes = Config.fromfile(config).model.num_classes
    assert summary['outputs'] == {'logits': ['batch', num_classes]}
    assert max(summary['parity'].values()) < TOLERANCE  # the export size; the CLI also checked 96x128


def test_segmenter_and_upernet_export_dynamic(tmp_path):
    """Segmenter, and UperNet's pyramid pooling (1, 2, 3, 6 bins) through one file: the model keeps mmseg's
    ``nn.AdaptiveAvgPool2d`` and the export traces ``GridPool2d`` in its place (traced as it is, the adaptive
    pooling fails at another size: ``test_deploy.py::test_grid_pool_exports_with_bins_of_each_size``)."""
    segmenter = shallow_config('segmenter_edit_t_ade20k.py', tmp_path)
    summary = export_main([segmenter, 'none', '--out', str(tmp_path / 'segmenter.onnx'), '--shape', '64', '64',
                           '--dynamic'])
    assert summary['outputs'] == {'seg_logits': ['batch', 150, 'height', 'width']}
    assert max(summary['parity'].values()) < TOLERANCE  # the export size; the CLI also checked 96x128
    upernet = shallow_config('upernet_deit3_t_ade20k.py', tmp_path, depth=4, out_indices=(0, 1, 2, 3))
    model = perturb_(build_task_model(Config.fromfile(upernet), None), weights=True)
    with torch.no_grad():  # BN statistics away from their init too
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    checkpoint, path = str(tmp_path / 'upernet.pth'), str(tmp_path / 'upernet.onnx')
    save_checkpoint({'state_dict': model.state_dict(), 'meta': {}}, checkpoint)
    summary = export_main([upernet, checkpoint, '--out', path, '--shape', '64', '64', '--dynamic'])
    assert summary['task'] == 'segmentor' and summary['input'] == ['batch', 3, 'height', 'width']
    assert summary['outputs'] == {'seg_logits': ['batch', 150, 'height', 'width']}
    assert max(summary['parity'].values()) < TOLERANCE  # 64x64: a 2x2 map pooled to 3x3 and 6x6; also 96x128
    assert isinstance(model.decode_head.psp_modules[1][0], torch.nn.AdaptiveAvgPool2d)
    graph, session = export_graph(model)[0], OrtSession(path)
    # 5x7 patches: a 2x3 map in the pyramid pooling (overlapping bins); 3x6: a 1x3 map (6 bins of 1 row repeat)
    for batch, size in ((2, (80, 112)), (1, (48, 96))):
        assert compare(graph, session, torch.randn(batch, 3, *size))['seg_logits'] < TOLERANCE, size


@pytest.mark.parametrize('config, shape, backbone, levels', [
    ('maskrcnn_edit_t_coco.py', (64, 64), dict(depth=4, out_indices=(0, 1, 2, 3)), [16, 8, 4, 2, 1]),
    # windows of 5x5 tokens on the 10x10 map, block 1 global, relative positions everywhere; a register in every
    # window and the elementwise gate (the ViTDet variants' options)
    ('demo/vitdet_maskrcnn_edit_t_synthetic_coco.py', (160, 160),
     dict(depth=2, global_attn_indexes=[1], out_indices=[1], num_registers=1, gate='elementwise'), [40, 20, 10, 5]),
])
def test_detector_features_export(config, shape, backbone, levels, tmp_path):
    path = shallow_config(config, tmp_path, **backbone)
    summary = export_main([path, 'none', '--out', str(tmp_path / 'det.onnx'), '--shape', *map(str, shape)])
    assert list(summary['outputs']) == [f'feat{i}' for i in range(len(summary['outputs']))]
    assert [s[2] for s in summary['outputs'].values()][:len(levels)] == levels
    assert max(summary['parity'].values()) < TOLERANCE
    if 'vitdet' in config:  # one file for every size: windows padded and tables resampled in the graph
        # relative-position tables, LayerScale, registers and gates away from their init, so that a wrong
        # resampling or padding shows in the outputs
        checkpoint = str(tmp_path / 'perturbed.pth')
        model = perturb_(build_task_model(Config.fromfile(path), None), weights=True)
        save_checkpoint({'state_dict': model.state_dict(), 'meta': {}}, checkpoint)
        summary = export_main([path, checkpoint, '--out', str(tmp_path / 'dynamic.onnx'), '--shape', '112', '144',
                               '--dynamic'])  # 7x9 patches: padded to 10x10; the CLI also checks 144x208
        assert summary['input'] == ['batch', 3, 'height', 'width']
        assert max(summary['parity'].values()) < TOLERANCE


def test_test_py_evaluates_onnx_like_the_checkpoint(tmp_path):
    """tools/test.py CONFIG model.onnx: the same dataset, evaluator and metric as with the checkpoint."""
    from mmedit_vit.apis import build_runner, load_run_config
    from mmedit_vit.apis.test_cli import main as test_main
    from mmedit_vit.datasets import make_synthetic_folder
    from mmedit_vit.deploy.ort_model import use_onnx_file
    data = str(tmp_path / 'data')
    make_synthetic_folder(data, train_per_class=4, val_per_class=8)
    config = shallow_config('demo/cls_edit_t_synthetic.py', tmp_path)
    options = {f'{s}_dataloader.dataset.data_root': data for s in ('train', 'val', 'test')}
    cfg = load_run_config(config, str(tmp_path / 'work'), options)
    model = build_task_model(cfg, None)
    with torch.no_grad():
        for p in model.parameters():  # away from the near-uniform initial logits, so that ranks differ
            p.add_(torch.randn_like(p) * 0.2)
    checkpoint = str(tmp_path / 'model.pth')
    save_checkpoint({'state_dict': model.state_dict(), 'meta': {}}, checkpoint)
    onnx_file = str(tmp_path / 'model.onnx')
    export_main([config, checkpoint, '--out', onnx_file, '--shape', '48', '48'])
    assert onnx_shapes(onnx_file)['logits'] == ['batch', 4]
    with torch.no_grad():
        x = torch.randn(2, 3, 48, 48)
        assert compare(export_graph(model)[0], OrtSession(onnx_file), x)['logits'] < TOLERANCE
    metrics = {}
    for name, source in (('pth', checkpoint), ('onnx', onnx_file)):
        cfg = load_run_config(config, str(tmp_path / name), options)
        if name == 'onnx':
            cfg = use_onnx_file(cfg, source)
        else:
            cfg.load_from = source
        metrics[name] = build_runner(cfg).test()
    assert metrics['onnx'] == pytest.approx(metrics['pth'], abs=1e-6)
    test_main([config, onnx_file, '--work-dir', str(tmp_path / 'cli'), '--cfg-options',
               *(f'{k}={v}' for k, v in options.items())])  # the command line itself
    from mmedit_vit.apis import robustness
    cfg = robustness.enable_fgsm(load_run_config(config, str(tmp_path / 'fgsm'), options), eps=0.01)
    with pytest.raises(ValueError, match='FGSM needs input gradients'):
        build_runner(use_onnx_file(cfg, onnx_file))
