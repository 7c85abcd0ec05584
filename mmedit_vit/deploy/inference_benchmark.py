"""Inference time of each backbone's classifier: eager PyTorch, ``torch.compile`` and onnxruntime, in one run.

Every row is one classifier (the backbone variants of ``BACKBONE_VARIANTS``, EDIT with its decoder), float32,
without gradients. The three runtimes of a row are timed interleaved (one call of each per repetition) and each
ratio is the median of the per-repetition ratios to eager, so both sides of a ratio ran under the same load.
The onnxruntime column also reports its parity with eager PyTorch on the timed batch (``parity.TOLERANCE``).
onnxruntime is fed and read on the host: on a GPU its time includes the copies (``OrtSession`` works on numpy).
"""
import os.path as osp
import statistics
import tempfile
from typing import Callable, Dict, List, Optional, Sequence

import torch

from ..analysis.benchmark import measure

CUDA_OPTIONS = {'use_tf32': '0'}  # float32 parity: onnxruntime's CUDA kernels would round matmuls as TF32


def ort_providers(device: torch.device, provider: Optional[str]) -> List:
    """The providers to ask for: ``provider`` (CUDA with TF32 off) or the device's default."""
    from .ort_session import CPU, CUDA
    provider = provider or (CUDA if device.type == 'cuda' else CPU)
    return [(CUDA, CUDA_OPTIONS), CPU] if provider == CUDA else [provider]


def inference_rows(sizes: Sequence[str], batch: int, img_size: int, reps: int, warmup: int, device: torch.device,
                   provider: Optional[str] = None, compile_model: bool = True,
                   threads: Optional[int] = None) -> List[dict]:
    """One dict per (size, variant): ms of each runtime, the ratios to eager, onnxruntime's parity. ``threads``
    sets onnxruntime's intra-op threads (as ``torch.set_num_threads`` sets PyTorch's)."""
    from mmedit_vit.models.backbones import BACKBONE_VARIANTS
    from mmedit_vit.models.classifiers import ImageClassifier

    from .export import export_onnx
    from .graphs import export_graph
    from .ort_session import OrtSession
    from .parity import relative_errors
    rows = []
    x = torch.randn(batch, 3, img_size, img_size, device=device)
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            for name, backbone in BACKBONE_VARIANTS.items():
                model = ImageClassifier(backbone=dict(backbone, arch=size, img_size=img_size), num_classes=1000)
                path = osp.join(tmp, f'{size}_{name}.onnx')
                export_onnx(model.eval(), path, (img_size, img_size))
                graph = export_graph(model)[0].to(device)
                session = OrtSession(path, ort_providers(device, provider), threads=threads)
                runs: Dict[str, Callable[[], object]] = {'eager': lambda graph=graph: graph(x)}
                if compile_model:
                    runs['compile'] = lambda compiled=torch.compile(graph): compiled(x)
                runs['onnxruntime'] = lambda session=session: session(x)
                with torch.no_grad():
                    for run in runs.values():
                        for _ in range(warmup + 1):
                            run()
                    parity = relative_errors(session(x), [graph(x)])[0]
                    times: Dict[str, List[float]] = {key: [] for key in runs}
                    for _ in range(reps):
                        for key, run in runs.items():
                            times[key].append(measure(run, device))
                row = dict(size=size, model=name, provider=session.providers()[0], parity=parity)
                for key in runs:
                    row[f'{key}_ms'] = 1000 * statistics.median(times[key])
                    row[f'{key}_vs_eager'] = statistics.median(a / b for a, b in zip(times[key], times['eager']))
                rows.append(row)
                print(f'  {size} {name}: inference measured', flush=True)
    return rows


def inference_table(rows: List[dict], batch: int, img_size: int, reps: int, hardware: str) -> List[str]:
    compiled = 'compile_ms' in rows[0] if rows else False
    head = '| size | classifier | eager ms |' + (' compile ms | compile x eager |' if compiled else '') \
        + ' onnxruntime ms | onnxruntime x eager | provider | onnx parity |'
    rule = '|---|---|---:|' + ('---:|---:|' if compiled else '') + '---:|---:|---|---:|'
    lines = ['', f'inference (no gradients), float32, batch {batch}, {img_size}x{img_size}, {hardware}, '
             f'median of {reps}:', '', head, rule]
    for r in rows:
        lines.append(f"| {r['size']} | {r['model']} | {r['eager_ms']:.1f} |"
                     + (f" {r['compile_ms']:.1f} | {r['compile_vs_eager']:.3f} |" if compiled else '')
                     + f" {r['onnxruntime_ms']:.1f} | {r['onnxruntime_vs_eager']:.3f} | {r['provider']} |"
                     f" {r['parity']:.1e} |")
    return lines
