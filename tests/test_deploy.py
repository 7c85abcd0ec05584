"""ONNX export, onnxruntime parity and INT8 quantisation (mmedit_vit.deploy) on tiny classifiers.

Every backbone family exports and matches PyTorch in onnxruntime (CPU, float32) within ``TOLERANCE`` at two
input sizes, windowed attention with relative positions (ViTDet) and UperNet's pyramid pooling included; the
graph's names and shapes are the documented ones; an INT8 model with a planted outlier channel loses more than
the same function without it. The config-level checks (Tiny configs of every family, segmentors,
detectors, tools/test.py on an exported file) are in test_deploy_configs.py.
"""
import copy
import os.path as osp
import warnings
from unittest import mock

import numpy as np
import pytest
import torch

from conftest import perturb_

pytest.importorskip('onnxruntime', reason='the deploy extra (pip install -e .[deploy]) is not installed')

from mmedit_vit.deploy import TOLERANCE, ExportError, export_onnx, onnx_shapes  # noqa: E402
from mmedit_vit.deploy.calibration import ArrayReader, calibration_pipeline  # noqa: E402
from mmedit_vit.deploy.export_cli import parse_args  # noqa: E402
from mmedit_vit.deploy.graphs import export_graph  # noqa: E402
from mmedit_vit.deploy.grid_pool import GridPool2d, with_graph_pooling  # noqa: E402
from mmedit_vit.deploy.ort_session import OrtSession  # noqa: E402
from mmedit_vit.deploy.parity import compare, relative_errors  # noqa: E402
from mmedit_vit.deploy.quantize import quantize_int8  # noqa: E402
from mmedit_vit.models.classifiers import ImageClassifier  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TINY = dict(embed_dims=32, num_heads=2, depth=2)
NUM_CLASSES = 7
SIZES = ((32, 32), (24, 48))  # the stored 4x4 grid, then fewer rows and more columns (both resamplings)

# one model per export; between them every family of the project (the config-level test exports each alone)
DYNAMIC_FAMILIES = {
    'plain': dict(type='PlainViT'),
    'edit+registers+headwise+cb': dict(type='EDITViT', num_registers=2, gate='headwise', cb_layers=[1]),
    'elementwise value gate+cbs': dict(type='PlainViT', gate='elementwise', gate_position='value', cb_layers=[0, 1],
                                       cb_mode='cbs'),
}
WINDOWED = dict(type='PlainViT', window_size=3, global_attn_indexes=[1], rel_pos=True, gate='elementwise',
                num_registers=1)


def classifier(backbone: dict, **kwargs) -> ImageClassifier:
    model = ImageClassifier(backbone=dict(backbone, arch=TINY, img_size=32, patch_size=8, **kwargs),
                            num_classes=NUM_CLASSES)
    return perturb_(model, weights=True).eval()  # rel-pos tables, LayerScale, tokens away from their init


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    """family -> (model, path of its dynamic export), each exported once for the module."""
    cache = {}

    def get(family: str):
        if family not in cache:
            model = classifier(DYNAMIC_FAMILIES[family])
            path = str(tmp_path_factory.mktemp(family.replace('+', '_').replace(' ', '_')) / 'model.onnx')
            cache[family] = model, path, export_onnx(model, path, SIZES[0], dynamic=True)
        return cache[family]
    return get


@pytest.mark.parametrize('family', list(DYNAMIC_FAMILIES))
def test_dynamic_export_matches_pytorch_at_two_sizes(family, exported, one_thread):
    model, path, result = exported(family)
    # the documented interface: input (batch, 3, height, width) -> logits (batch, classes)
    assert onnx_shapes(path) == {'input': ['batch', 3, 'height', 'width'], 'logits': ['batch', NUM_CLASSES]}
    assert (result.task, result.output_names) == ('classifier', ['logits'])
    session = OrtSession(path)
    graph, _ = export_graph(model)
    for batch, size in zip((2, 1), SIZES):
        errors = compare(graph, session, torch.randn(batch, 3, *size))
        assert errors['logits'] < TOLERANCE, (size, errors)


@pytest.mark.parametrize('size', [SIZES[0], pytest.param(SIZES[1], marks=pytest.mark.slow)])
def test_windowed_rel_pos_exports_at_a_fixed_size(size, tmp_path, one_thread):
    """A 4x4 grid padded to 3x3 windows (and a 3x6 one, not padded); the file takes only its own size."""
    model = classifier(WINDOWED)
    graph, _ = export_graph(model)
    path = str(tmp_path / 'model.onnx')
    export_onnx(model, path, size)
    assert onnx_shapes(path)['input'] == ['batch', 3, *size]
    session = OrtSession(path)
    assert compare(graph, session, torch.randn(3, 3, *size))['logits'] < TOLERANCE
    other = SIZES[1] if size == SIZES[0] else SIZES[0]
    with pytest.raises(ValueError, match=r'does not fit .*--dynamic'):
        session(torch.randn(1, 3, *other))


@pytest.mark.parametrize('size, grid', [((7, 11), (6, 6)), ((5, 5), (3, 3)), ((1, 9), (2, 2)), ((64, 48), 6),
                                        ((2, 3), (6, 6)), ((13, 3), (6, None))])
def test_grid_pool_equals_adaptive_pooling(size, grid):
    """Bins from the input size as PyTorch's: non-divisible sizes (overlapping bins), more bins than pixels."""
    x = torch.randn(2, 3, *size)
    torch.testing.assert_close(GridPool2d(grid)(x), torch.nn.AdaptiveAvgPool2d(grid)(x), rtol=0, atol=1e-6)
    assert torch.equal(GridPool2d(grid, 'max')(x), torch.nn.AdaptiveMaxPool2d(grid)(x))


def test_grid_pool_exports_with_bins_of_each_size(tmp_path, one_thread):
    """The pooling alone through one dynamic file, traced at 13x17, run at sizes with other bins. The control:
    ``nn.AdaptiveAvgPool2d`` (what UperNet's pyramid holds) traced the same way keeps the traced size's bins, and
    the export's check at a second size stops it."""
    from mmedit_vit.deploy.export import OPSET, check_other_size

    def export(module: torch.nn.Module, path: str) -> OrtSession:
        with warnings.catch_warnings():
            warnings.filterwarnings('ignore', category=FutureWarning)  # the exporter's own deprecation notices
            torch.onnx.export(module, (torch.randn(2, 3, 13, 17),), path, input_names=['input'], dynamic_shapes=[
                {0: 'batch', 2: 'height', 3: 'width'}], opset_version=OPSET, dynamo=True, external_data=False,
                verbose=False)
        return OrtSession(path)
    session = export(GridPool2d((6, 3)).eval(), str(tmp_path / 'pool.onnx'))
    for size in ((13, 17), (7, 11), (2, 5), (64, 48)):
        x = torch.randn(1, 3, *size)
        torch.testing.assert_close(session(x)[0], torch.nn.AdaptiveAvgPool2d((6, 3))(x), rtol=0, atol=1e-6)
    adaptive, path = torch.nn.AdaptiveAvgPool2d((6, 3)).eval(), str(tmp_path / 'adaptive.onnx')
    export(adaptive, path)
    with pytest.raises(ExportError, match=r'dynamic graph (is wrong|fails) at input size \(7, 11\)'):
        check_other_size(adaptive, path, (7, 11))


def test_graph_pooling_swaps_only_grid_poolings_in_a_copy():
    model = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Sequential(torch.nn.AdaptiveMaxPool2d(3)),
                                torch.nn.AdaptiveAvgPool2d((2, None)))
    swapped = with_graph_pooling(model)
    assert [type(m).__name__ for m in (swapped[0], swapped[1][0], swapped[2])] == [
        'AdaptiveAvgPool2d', 'GridPool2d', 'GridPool2d']
    assert (swapped[1][0].reduce, swapped[2].output_size) == ('max', (2, None))
    assert isinstance(model[1][0], torch.nn.AdaptiveMaxPool2d)  # the model itself is untouched
    plain = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1))
    assert with_graph_pooling(plain) is plain
    with pytest.raises(ValueError, match=r"reduce='sum'.*\('mean', 'max'\)"):
        GridPool2d(2, 'sum')
    with pytest.raises(ValueError, match=r'output_size=0'):
        GridPool2d(0)


def test_parity_measure_detects_a_wrong_graph(exported, one_thread):
    """The tolerance separates rounding from a mistake: a LayerScale changed by 5% is far above it."""
    model, path, _ = exported('plain')
    changed = copy.deepcopy(model)
    with torch.no_grad():
        changed.backbone.blocks[1].ls2.gamma.mul_(1.05)
    graph, _ = export_graph(changed)
    assert compare(graph, OrtSession(path), torch.randn(2, 3, *SIZES[0]))['logits'] > 100 * TOLERANCE
    with pytest.raises(ValueError, match='shape'):
        relative_errors([torch.zeros(2, 3)], [torch.zeros(3, 2)])


class DataDependent(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x if x.sum() > 0 else -x  # a branch on a value: not traceable into a graph


def test_unexportable_module_is_named(tmp_path, one_thread):
    model = classifier(DYNAMIC_FAMILIES['plain'])
    model.backbone.blocks[1].mlp.drop2 = DataDependent()
    with pytest.raises(ExportError, match=r'module model\.backbone\.blocks\.1\.mlp\.drop2 \(DataDependent\)'):
        export_onnx(model, str(tmp_path / 'model.onnx'), SIZES[0])


def test_export_paths_only_while_exporting():
    """Outside an export the position embedding is the stored parameter and attention is the fused kernel."""
    model = classifier(DYNAMIC_FAMILIES['plain'])
    backbone = model.backbone
    assert backbone._pos_embed(backbone.pos_grid) is backbone.pos_embed
    with mock.patch('torch.nn.functional.scaled_dot_product_attention',
                    wraps=torch.nn.functional.scaled_dot_product_attention) as fused:
        model(torch.randn(1, 3, 32, 32))
    assert fused.call_count == TINY['depth']
    with mock.patch('torch.onnx.is_in_onnx_export', return_value=True), \
            mock.patch('timm.layers.pos_embed.is_exporting', return_value=True):  # timm's own early return
        resampled = backbone._pos_embed(backbone.pos_grid)
        assert resampled is not backbone.pos_embed  # resampled in the graph; the identity at the stored grid
        torch.testing.assert_close(resampled, backbone.pos_embed, rtol=0, atol=1e-6)
        with mock.patch('torch.nn.functional.scaled_dot_product_attention') as fused:
            explicit = model(torch.randn(1, 3, 32, 32))
        fused.assert_not_called()
    assert explicit.shape == (1, NUM_CLASSES)


def plant_outlier(model: ImageClassifier, channel: int = 5, factor: float = 100.0) -> ImageClassifier:
    """The same function with one channel of block 0's normed input ``factor`` times larger: the LayerNorm's
    weight and bias scale it up and the qkv projection's input column scales it back down."""
    planted = copy.deepcopy(model)
    block = planted.backbone.blocks[0]
    with torch.no_grad():
        block.norm1.weight[channel] *= factor
        block.norm1.bias[channel] *= factor
        block.attn.qkv.weight[:, channel] /= factor
    return planted


def test_planted_outlier_loses_more_in_int8(tmp_path, one_thread):
    model = classifier(DYNAMIC_FAMILIES['plain'])
    planted = plant_outlier(model)
    x = torch.randn(16, 3, *SIZES[0])
    graph, _ = export_graph(model)
    with torch.no_grad():
        reference = graph(x)
        assert relative_errors([export_graph(planted)[0](x)], [reference])[0] < 1e-5  # the same function
    calibration = [torch.randn(1, 3, *SIZES[0]).numpy() for _ in range(16)]
    errors = {}
    for name, m in (('clean', model), ('planted', planted)):
        fp32, int8 = str(tmp_path / f'{name}.onnx'), str(tmp_path / f'{name}_int8.onnx')
        export_onnx(m, fp32, SIZES[0])
        quantize_int8(fp32, int8, calibration)
        errors[name] = relative_errors(OrtSession(int8)(x), [reference])[0]
    # per-tensor activation scales: the outlier takes the range, the other 31 channels keep few levels
    assert errors['planted'] > 2 * errors['clean'], errors
    assert errors['clean'] < 0.1, errors  # and the clean model quantises well
    with pytest.raises(ValueError, match='calibration method'):
        quantize_int8(fp32, int8, calibration, method='mse')


def test_session_and_reader_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.onnx'):
        OrtSession(str(tmp_path / 'missing.onnx'))
    reader = ArrayReader('input', [np.zeros((1, 3, 2, 2), np.float32)] * 2)
    assert [reader.get_next() is not None for _ in range(3)] == [True, True, False]
    reader.rewind()
    assert reader.get_next()['input'].shape == (1, 3, 2, 2)


def test_calibration_pipeline_drops_label_loading():
    from mmengine.config import Config
    cfg = Config(dict(test_dataloader=dict(dataset=dict(pipeline=[
        dict(type='LoadImageFromFile'), dict(type='Resize', scale=(64, 64)),
        dict(type='LoadSegLabels', num_classes=3), dict(type='mmdet.LoadAnnotations'), dict(type='PackSegInputs')]))))
    assert [s['type'] for s in calibration_pipeline(cfg)] == ['LoadImageFromFile', 'Resize', 'PackSegInputs']


@pytest.mark.parametrize('argv, message', [
    (['c.py', 'none', '--out', 'm.onnx', '--int8'], '--int8 needs --calib'),
    (['c.py', 'none', '--out', 'm.onnx', '--calib', '4'], 'only apply with --int8'),
    (['c.py', 'none', '--out', 'm.pt'], 'must end with .onnx'),
    (['c.py', 'none', '--out', 'm.onnx', '--int8', '--calib', '0'], 'at least one image'),
])
def test_export_cli_rejects_bad_arguments(argv, message, capsys):
    with pytest.raises(SystemExit):
        parse_args(argv)
    assert message in capsys.readouterr().err


def test_use_onnx_file_swaps_the_model_type(tmp_path):
    from mmengine.config import Config

    from mmedit_vit.deploy.ort_model import use_onnx_file
    path = tmp_path / 'model.onnx'
    path.write_bytes(b'')
    cfg = use_onnx_file(Config(dict(model=dict(type='ImageClassifier', num_classes=3), load_from='x.pth')), str(path))
    assert (cfg.model.type, cfg.model.onnx_file, cfg.load_from) == ('OnnxImageClassifier', str(path), None)
    tta = Config(dict(model=dict(type='SegTTAModel', module=dict(type='EncoderDecoder'))))
    assert use_onnx_file(tta, str(path)).model.module.type == 'OnnxEncoderDecoder'  # --tta keeps its wrapper
    with pytest.raises(ValueError, match="'MaskRCNN' cannot be evaluated from an ONNX file"):
        use_onnx_file(Config(dict(model=dict(type='MaskRCNN'))), str(path))
    with pytest.raises(FileNotFoundError, match='missing.onnx'):
        use_onnx_file(Config(dict(model=dict(type='ImageClassifier'))), str(tmp_path / 'missing.onnx'))


def test_outlier_statistics():
    """Kurtosis against closed forms (3 for a Gaussian; (d^2 - 3d + 3) / (d - 1) for one spike among d channels)
    and ``max_abs`` against the deepest block's output read directly."""
    from mmedit_vit.analysis.activation_outliers import block_outlier_stats, kurtosis, outlier_summary
    d = 192
    spike = torch.zeros(d)
    spike[7] = 5.0
    assert float(kurtosis(spike)) == pytest.approx((d * d - 3 * d + 3) / (d - 1))
    assert float(kurtosis(torch.randn(200000))) == pytest.approx(3.0, abs=0.05)
    model = classifier(DYNAMIC_FAMILIES['plain'])
    backbone = model.backbone
    x = torch.randn(2, 3, 32, 32)
    stats = block_outlier_stats(backbone, x)
    assert [len(v) for v in stats.values()] == [TINY['depth']] * 2
    with torch.no_grad():  # [CLS] + patches with their position embedding, through the two blocks
        tokens = torch.cat([backbone.cls_token.expand(2, -1, -1),
                            backbone.patch_embed(x).flatten(1, 2) + backbone.pos_embed], dim=1)
        last = backbone.blocks[1](backbone.blocks[0](tokens))
    assert stats['max_abs'][-1] == pytest.approx(float(last.abs().max()), rel=1e-5)
    assert outlier_summary(stats) == {'max_abs': max(stats['max_abs']), 'kurtosis': max(stats['kurtosis'])}
