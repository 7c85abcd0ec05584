"""tools/benchmark.py measures EDIT both ways (with its decoder and without) and ViTDet's windows."""
import argparse

import pytest
import torch
from mmengine.registry import MODELS

from mmedit_vit.analysis.benchmark import WINDOW_STUDY, window_study_results
from tool_runner import run_tool


@pytest.mark.slow
def test_edit_is_measured_with_and_without_its_decoder(tmp_path):
    proc = run_tool(['tools/benchmark.py', '--sizes', 'tiny', '--batch', '1', '--reps', '1', '--warmup', '0',
                     '--img-size', '32', '--out', str(tmp_path)])
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = {}
    for line in (tmp_path / 'benchmark_cpu_float32.md').read_text().splitlines():
        cells = [c.strip() for c in line.strip('|').split('|')]
        if len(cells) == 10 and cells[0] == 'tiny':
            rows[cells[1]] = dict(ms=float(cells[2]), mem=float(cells[6]), ops=int(cells[7]), flops=float(cells[9]))
    assert list(rows) == ['timm ViT', 'deit3', 'reg4', 'gated', 'cb', 'edit, dense (no decoder)',
                          'edit, classification (decoder)']
    # the decoder keeps its per-depth keys and values for backward: only the classification use pays for it
    assert rows['edit, classification (decoder)']['mem'] > rows['edit, dense (no decoder)']['mem']
    # dense use: [CLS] is outside the sequence and nothing reads it, so EDIT saves no more than the plain ViT
    assert rows['edit, dense (no decoder)']['mem'] <= rows['deit3']['mem']
    # the decoder's launches are counted: its 12 sequential steps cost operators, dense use costs none
    ops = {name: row['ops'] for name, row in rows.items()}
    assert ops['edit, dense (no decoder)'] <= ops['deit3'] < ops['edit, classification (decoder)']
    # FLOPs: dense EDIT runs one token fewer than DeiT-III; the decoder adds its K/V products
    assert rows['deit3']['flops'] == 1.0
    assert rows['edit, dense (no decoder)']['flops'] < 1.0 < rows['reg4']['flops']
    assert rows['edit, classification (decoder)']['flops'] > rows['edit, dense (no decoder)']['flops']


def test_window_study_measures_the_vitdet_layout_and_its_bias_memory():
    """The study's ViTDet row is ViTDet's ViT-B layout; the measurement sees what relative positions keep for
    backward: at least one (B, heads, N, N) bias per block on top of global attention (here 12 x 2 x 3 x 64^2
    floats at 128x128, Tiny)."""
    args = argparse.Namespace(window_img_size=128, window_batch=2, window_arch='tiny', reps=1, warmup=0,
                              dtype='float32')
    vitdet = WINDOW_STUDY['vitdet']
    model = MODELS.build(dict(type='PlainViT', arch='tiny', img_size=224, **vitdet))
    assert model.windowed_blocks == [0, 1, 3, 4, 6, 7, 9, 10] and model.blocks[0].attn.rel_pos_h.shape == (27, 64)
    rows = {'global': {}, 'rel_pos': dict(rel_pos=True), 'windows': dict(window_size=2)}
    results = window_study_results(args, torch.device('cpu'), torch.float32, rows)
    assert list(results) == list(rows)
    (sec, saved, peak), (_, saved_rel, _), (_, saved_win, _) = results.values()
    assert sec > 0 and peak is None and saved > 0
    assert saved_rel - saved >= 12 * 2 * 3 * 64 * 64 * 4
    # windows of 2x2 keep no bias: within one (B, N, d) copy per block of global attention's saved bytes
    assert abs(saved_win - saved) <= 12 * 2 * 64 * 192 * 4


@pytest.mark.slow
def test_inference_study_times_eager_and_onnxruntime_with_parity(monkeypatch):
    """``tools/benchmark.py --inference-study`` (what gpu_check.sh's onnx_cuda step runs), on two of the families:
    each row has both runtimes' times, ratios that are medians of per-repetition ratios, and the file's parity."""
    import mmedit_vit.models.backbones as backbones
    from mmedit_vit.deploy import TOLERANCE
    from mmedit_vit.deploy.inference_benchmark import inference_rows, inference_table
    variants = {name: backbones.BACKBONE_VARIANTS[name] for name in ('deit3', 'edit')}
    monkeypatch.setattr(backbones, 'BACKBONE_VARIANTS', variants)
    rows = inference_rows(['tiny'], batch=2, img_size=32, reps=3, warmup=0, device=torch.device('cpu'),
                          compile_model=False, threads=1)
    assert [(r['size'], r['model'], r['provider']) for r in rows] == [('tiny', 'deit3', 'CPUExecutionProvider'),
                                                                     ('tiny', 'edit', 'CPUExecutionProvider')]
    for row in rows:
        assert row['parity'] < TOLERANCE and row['eager_vs_eager'] == 1.0
        assert row['eager_ms'] > 0 and row['onnxruntime_ms'] > 0 and 'compile_ms' not in row
    table = inference_table(rows, batch=2, img_size=32, reps=3, hardware='cpu')
    assert table[3] == ('| size | classifier | eager ms | onnxruntime ms | onnxruntime x eager | provider | '
                        'onnx parity |')
    assert table[-1].startswith('| tiny | edit |') and table[-1].endswith(f"| {rows[1]['parity']:.1e} |")
