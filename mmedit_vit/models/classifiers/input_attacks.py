"""Evaluation-time input changes of the CB paper's robustness table: center occlusion and FGSM.

Both act on the normalised model input. Occlusion fills a centred square: ``size`` pixels of an
``at_size`` input (112 of 224, the paper's setting), the same fraction of the side for other input sizes.
The fill is explicit: ``'zero'`` (the CB paper's "zero-masked" pixels: pixel value 0, i.e. ``-mean/std``
after normalisation) or ``'mean'`` (the dataset mean colour: 0 after normalisation).
FGSM (Goodfellow et al.) moves every pixel by ``eps`` on the 0-1 pixel scale in the sign of the
cross-entropy gradient, then clips back to valid pixel values.
"""
from typing import List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.structures import BaseDataElement
from torch import nn

PERTURBATIONS = ('center_occlusion', 'fgsm')
OCCLUSION_FILLS = ('zero', 'mean')


def _check_one(cfg: dict) -> dict:
    cfg = dict(cfg)
    kind = cfg.get('type')
    if kind == 'center_occlusion':
        size, at_size, fill = cfg.get('size', 112), cfg.get('at_size', 224), cfg.get('fill', 'zero')
        if not isinstance(size, int) or not isinstance(at_size, int) or not 1 <= size <= at_size:
            raise ValueError(f'center_occlusion size={size!r}, at_size={at_size!r}: need integers with '
                             '1 <= size <= at_size (pixels; 112 of 224 in the CB paper)')
        if fill not in OCCLUSION_FILLS:
            raise ValueError(f'center_occlusion fill={fill!r} is not supported; choose one of {OCCLUSION_FILLS}')
        unknown = set(cfg) - {'type', 'size', 'at_size', 'fill'}
        if unknown:
            raise ValueError(f'center_occlusion: unknown keys {sorted(unknown)}; allowed: size, at_size, fill')
        return dict(type=kind, size=size, at_size=at_size, fill=fill)
    if kind == 'fgsm':
        eps = cfg.get('eps')
        if not isinstance(eps, (int, float)) or not 0 <= eps <= 1:
            raise ValueError(f'fgsm eps={eps!r} must be a number in [0, 1] (0-1 pixel scale, 1/255 = 0.0039)')
        return dict(type=kind, eps=float(eps))
    raise ValueError(f'test_perturbation type={kind!r} is not supported; choose one of {PERTURBATIONS}')


def check_test_perturbation(cfg: Union[None, dict, Sequence[dict]]) -> List[dict]:
    """Validates ``test_perturbation`` (a dict, a list applied in order, or None); returns a list."""
    if cfg is None:
        return []
    return [_check_one(c) for c in ([cfg] if isinstance(cfg, dict) else cfg)]


def center_occlusion(inputs: torch.Tensor, size: int = 112, at_size: Optional[int] = None,
                     value: Union[float, torch.Tensor] = 0.) -> torch.Tensor:
    """Returns a copy of the (B, C, H, W) batch with a centred rectangle set to ``value``.

    The rectangle is ``size`` x ``size`` pixels, or with ``at_size`` the fraction ``size / at_size`` of
    each side (``size=112, at_size=224``: 112 x 112 on 224 x 224 inputs, 24 x 24 on 48 x 48).
    ``value``: a number, or one value per channel shaped (C, 1, 1) (see ``occlusion_value``).
    """
    height, width = inputs.shape[-2:]
    if at_size is None:
        box_h = box_w = size
    else:
        box_h, box_w = round(size * height / at_size), round(size * width / at_size)
    if box_h > height or box_w > width:
        raise ValueError(f'occlusion {box_h}x{box_w} exceeds the input {height}x{width}')
    top, left = (height - box_h) // 2, (width - box_w) // 2
    out = inputs.clone()
    out[..., top:top + box_h, left:left + box_w] = torch.as_tensor(value, dtype=out.dtype, device=out.device)
    return out


def occlusion_value(fill: str, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """The normalised input value of an occluded pixel, (C, 1, 1): pixel 0 (``'zero'``) or the mean colour."""
    if fill not in OCCLUSION_FILLS:
        raise ValueError(f'occlusion fill={fill!r} is not supported; choose one of {OCCLUSION_FILLS}')
    if fill == 'mean':
        return torch.zeros_like(mean)
    return (0. - mean) / std


def fgsm(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor, eps: float,
         mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """One signed-gradient step of size ``eps`` (0-1 pixel scale) on normalised ``inputs``.

    ``mean``/``std`` are the normalisation statistics on the 0-255 scale, shaped (C, 1, 1); the step and
    the clipping to [0, 255] pixels are done in that space and mapped back. ``model(x)`` gives logits.
    """
    with torch.enable_grad():
        x = inputs.detach().clone().requires_grad_(True)
        loss = F.cross_entropy(model(x), labels)
        grad, = torch.autograd.grad(loss, x)
    pixels = inputs.detach() * std + mean
    pixels = (pixels + eps * 255.0 * grad.sign()).clamp(0.0, 255.0)
    return (pixels - mean) / std


def apply_test_perturbation(classifier: nn.Module, inputs: torch.Tensor, data_samples: List[BaseDataElement],
                            perturbations: List[dict]) -> torch.Tensor:
    """Applies checked ``test_perturbation`` entries, in order, to a preprocessed batch of ``classifier``."""
    preprocessor = classifier.data_preprocessor
    for cfg in perturbations:
        if cfg['type'] == 'center_occlusion':
            value = occlusion_value(cfg['fill'], preprocessor.mean, preprocessor.std)
            inputs = center_occlusion(inputs, cfg['size'], cfg['at_size'], value)
        else:
            labels = torch.cat([s.gt_label.view(-1) for s in data_samples]).to(inputs.device)
            inputs = fgsm(lambda x: classifier(x, mode='tensor'), inputs, labels, cfg['eps'],
                          preprocessor.mean, preprocessor.std)
    return inputs
