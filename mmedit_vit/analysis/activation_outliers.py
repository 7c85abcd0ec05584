"""Outlier statistics of a backbone's activations (Bondarenko et al. 2023, "Quantizable Transformers").

They trace transformers' INT8 losses to a few activation channels that grow huge in the residual stream and
measure it per layer with the largest magnitude (infinity norm) and the kurtosis of the outputs. Here both are
read from every block's output (the residual stream) on real images:

- ``max_abs``: max |x| over the tokens and channels of a block's output;
- ``kurtosis``: E[(x - mu)^4] / sigma^4 of each token's channel vector (3 for a Gaussian; a token with one
  dominant channel of d approaches d), averaged over the tokens; per block.

``outlier_summary`` gives the largest of each over the blocks, the per-model numbers of docs/deploy.md.
"""
from typing import Dict, List

import torch
from torch import nn


def kurtosis(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Pearson kurtosis along ``dim`` (3 for a Gaussian)."""
    x = x.double()
    centred = x - x.mean(dim=dim, keepdim=True)
    variance = centred.pow(2).mean(dim=dim)
    return centred.pow(4).mean(dim=dim) / variance.pow(2).clamp_min(1e-30)


@torch.no_grad()
def block_outlier_stats(backbone: nn.Module, inputs: torch.Tensor) -> Dict[str, List[float]]:
    """Per block of ``backbone`` (a ``PlainViT``): ``max_abs`` and mean token ``kurtosis`` of its output."""
    stats: Dict[str, List[float]] = {'max_abs': [], 'kurtosis': []}

    def hook(_, __, output: torch.Tensor) -> None:
        stats['max_abs'].append(float(output.abs().max()))
        stats['kurtosis'].append(float(kurtosis(output).mean()))

    handles = [block.register_forward_hook(hook) for block in backbone.blocks]
    try:
        was_training = backbone.training
        backbone.eval()
        backbone(inputs)
        backbone.train(was_training)
    finally:
        for handle in handles:
            handle.remove()
    return stats


def outlier_summary(stats: Dict[str, List[float]]) -> Dict[str, float]:
    """The largest ``max_abs`` and ``kurtosis`` over the blocks."""
    return {key: max(values) for key, values in stats.items()}
