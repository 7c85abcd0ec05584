"""Outlier statistics of the residual stream, per layer, as pure functions on tensors.

- Kurtosis over channels of every token, averaged over tokens: Bondarenko et al. 2023, "Quantizable
  Transformers" (their ``kurtosis``: the fourth central moment over the Bessel-corrected variance squared,
  ``mu4 / (s^4 + 1e-6)``; 3 for Gaussian channels, large when a few channels carry outliers).
- max |x| of block outputs and of MLP hidden activations (their infinity norms).
- High-norm token fraction, scale-free: tokens whose L2 norm exceeds ``k`` times the median patch-token norm of
  the same image and layer. The registers paper's absolute cut (norm > 150) was set on ViT-L/g, whose normal
  tokens stay below 100; at ViT-T/S width norms are smaller and 150 marks nothing. ``DEFAULT_NORM_RATIO``:
  docs/diagnostics.md says why 4.
"""
import torch

KURTOSIS_EPS = 1e-6
DEFAULT_NORM_RATIO = 4.0


def token_kurtosis(x: torch.Tensor, eps: float = KURTOSIS_EPS) -> torch.Tensor:
    """Kurtosis over the last axis (channels) of every token: (..., C) -> (...)."""
    x = x.double()
    centred = x - x.mean(-1, keepdim=True)
    return (centred.pow(4).mean(-1) / (x.std(-1).pow(4) + eps)).float()


def mean_kurtosis(x: torch.Tensor) -> torch.Tensor:
    """Kurtosis of every token of x (B, N, C), averaged over tokens (a 0-d tensor, left on x's device)."""
    return token_kurtosis(x).mean()


def max_abs(x: torch.Tensor) -> torch.Tensor:
    """max |x| over every entry (a 0-d tensor, left on x's device)."""
    return x.detach().abs().max().float()


def relative_high_norm(norms: torch.Tensor, patch_start: int, ratio: float = DEFAULT_NORM_RATIO) -> torch.Tensor:
    """norms (B, N) -> (B, N - patch_start) True for the patch tokens whose norm exceeds ``ratio`` times the
    median patch-token norm of their image."""
    if ratio <= 0:
        raise ValueError(f'norm ratio {ratio} must be positive')
    patches = norms[:, patch_start:]
    return patches > ratio * patches.median(dim=1, keepdim=True).values


def relative_high_norm_fraction(norms: torch.Tensor, patch_start: int,
                                ratio: float = DEFAULT_NORM_RATIO) -> torch.Tensor:
    """Fraction of patch tokens above ``ratio`` x their image's median patch norm (a 0-d tensor)."""
    return relative_high_norm(norms, patch_start, ratio).double().mean()
