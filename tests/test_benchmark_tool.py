"""tools/benchmark.py measures EDIT both ways: with its decoder (classification) and without (dense use)."""
import os
import subprocess
import sys

import pytest

from conftest import ROOT


@pytest.mark.slow
def test_edit_is_measured_with_and_without_its_decoder(tmp_path):
    proc = subprocess.run([sys.executable, os.path.join('tools', 'benchmark.py'), '--sizes', 'tiny', '--batch', '1',
                           '--reps', '1', '--warmup', '0', '--img-size', '32', '--out', str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, 'OMP_NUM_THREADS': '1'})
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
