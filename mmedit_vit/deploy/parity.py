"""onnxruntime against PyTorch on the same input: the error measure and tolerance of the export checks.

The measure is max |onnx - torch| / max |torch| per output (relative to the output's scale, so logits and
features of any magnitude compare alike). In float32 the two differ only by the order of accumulation in
their kernels (onnxruntime's MLAS GEMMs and fused LayerNorm / Softmax against ATen's): each GEMM of length K
rounds at about sqrt(K) * 2^-24 relative, and a 12-block ViT stacks some 50 of them, which stays well below
1e-5 relative in practice. ``TOLERANCE`` = 1e-4 leaves a 10x margin above that and is still 100x below any
mistake in the graph (a dropped bias, a wrong resample or a missing LayerScale moves outputs by >1e-2).
"""
from typing import Dict, List, Sequence

import torch

TOLERANCE = 1e-4


def relative_errors(onnx_outputs: Sequence[torch.Tensor], torch_outputs: Sequence[torch.Tensor]) -> List[float]:
    """max |a - b| / max |b| for each pair (shapes must match)."""
    errors = []
    for a, b in zip(onnx_outputs, torch_outputs, strict=True):
        if tuple(a.shape) != tuple(b.shape):
            raise ValueError(f'onnxruntime output shape {tuple(a.shape)} differs from PyTorch {tuple(b.shape)}')
        errors.append(float((a.float() - b.float()).abs().max() / b.float().abs().max().clamp_min(1e-12)))
    return errors


def compare(graph: torch.nn.Module, session, inputs: torch.Tensor) -> Dict[str, float]:
    """Output name -> relative error of ``session`` (an ``OrtSession``) against ``graph`` on ``inputs``."""
    with torch.no_grad():
        expected = graph(inputs)
    expected = [expected] if isinstance(expected, torch.Tensor) else list(expected)
    return dict(zip(session.output_names, relative_errors(session(inputs), expected)))
