"""ImageNet-C common corruptions (Hendrycks & Dietterich, ICLR 2019) as a pipeline step.

15 benchmark corruptions in four families and 4 hold-out corruptions, 5 severities each, with the
published constants (the ``imagecorruptions`` package, the code of the COCO-C / Cityscapes-C papers).
Each image is corrupted with a random stream seeded from its pixels, so every model, worker and run sees
the same corrupted image; numpy's global random state is restored afterwards.
"""
import zlib
from typing import Dict, List, Sequence

import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.registry import TRANSFORMS
from PIL import Image

from ...utils.arg_checks import check_choice, check_int
from .imagecorruptions_compat import corruption_functions

CORRUPTION_FAMILIES: Dict[str, List[str]] = {
    'noise': ['gaussian_noise', 'shot_noise', 'impulse_noise'],
    'blur': ['defocus_blur', 'glass_blur', 'motion_blur', 'zoom_blur'],
    'weather': ['snow', 'frost', 'fog', 'brightness'],
    'digital': ['contrast', 'elastic_transform', 'pixelate', 'jpeg_compression'],
    'holdout': ['speckle_noise', 'gaussian_blur', 'spatter', 'saturate'],
}
BENCHMARK_CORRUPTIONS = [name for family in ('noise', 'blur', 'weather', 'digital')
                         for name in CORRUPTION_FAMILIES[family]]
CORRUPTIONS = BENCHMARK_CORRUPTIONS + CORRUPTION_FAMILIES['holdout']
SEVERITIES = (1, 2, 3, 4, 5)
MIN_SIDE = 32  # the library's smallest image side


def family_of(name: str) -> str:
    """The family ('noise', 'blur', 'weather', 'digital', 'holdout') of corruption ``name``."""
    for family, names in CORRUPTION_FAMILIES.items():
        if name in names:
            return family
    raise ValueError(f'corruption {name!r} is not known; choose one of {CORRUPTIONS}')


def resolve_corruptions(selection: Sequence[str]) -> List[str]:
    """Corruption names from a selection of names and groups ('all', 'benchmark' or a family), in
    benchmark order without repeats."""
    groups = {'all': CORRUPTIONS, 'benchmark': BENCHMARK_CORRUPTIONS, **CORRUPTION_FAMILIES}
    chosen = []
    for item in selection:
        if item in groups:
            chosen += groups[item]
        elif item in CORRUPTIONS:
            chosen.append(item)
        else:
            raise ValueError(f'corruption {item!r} is not known; choose names from {CORRUPTIONS} '
                             f'or groups from {sorted(groups)}')
    return [name for name in CORRUPTIONS if name in chosen]


def corrupt(img: np.ndarray, corruption: str, severity: int, seed: int = 0) -> np.ndarray:
    """``img`` (uint8 RGB, HxWx3) with ``corruption`` at ``severity`` (1-5), deterministic in the image
    content and ``seed``; numpy's global random state is left as it was."""
    if corruption not in CORRUPTIONS:
        raise ValueError(f'corruption {corruption!r} is not known; choose one of {CORRUPTIONS}')
    if severity not in SEVERITIES:
        raise ValueError(f'severity={severity!r} must be one of {SEVERITIES}')
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise TypeError(f'corrupt expects a uint8 HxWx3 image, got {img.dtype} {img.shape}')
    if min(img.shape[:2]) < MIN_SIDE:
        raise ValueError(f'image of {img.shape[:2]} is too small: corruptions need sides >= {MIN_SIDE}')
    img = np.ascontiguousarray(img)
    key = np.random.SeedSequence([int(seed), zlib.crc32(img.tobytes()), *img.shape])
    state = np.random.get_state()
    try:
        np.random.seed(key.generate_state(1)[0])
        out = corruption_functions()[corruption](Image.fromarray(img), severity)
    finally:
        np.random.set_state(state)
    out = np.asarray(out, dtype=np.float64)[:img.shape[0], :img.shape[1]]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


@TRANSFORMS.register_module()
class Corrupt(BaseTransform):
    """Corrupts ``results['img']`` with an ImageNet-C corruption (see ``corrupt``).

    Works in the mmseg, mmdet (uint8 arrays, ``channel_order`` 'bgr' as mmcv loads them) and
    classification (RGB PIL images from ``LoadPILImage``) pipelines; place it right after loading.

    Args:
        corruption: one of ``CORRUPTIONS``.
        severity: 1-5.
        seed: mixed with the image content into the per-image random stream.
        channel_order: channel order of array images, 'bgr' or 'rgb'.
    """

    def __init__(self, corruption: str, severity: int, seed: int = 0, channel_order: str = 'bgr') -> None:
        if corruption not in CORRUPTIONS:
            raise ValueError(f'corruption {corruption!r} is not known; choose one of {CORRUPTIONS}')
        check_int('severity', severity, min=min(SEVERITIES), max=max(SEVERITIES))
        check_int('seed', seed, min=0)
        check_choice('channel_order', channel_order, ('bgr', 'rgb'))
        self.corruption = corruption
        self.severity = severity
        self.seed = seed
        self.channel_order = channel_order

    def transform(self, results: dict) -> dict:
        img = results['img']
        if isinstance(img, Image.Image):
            out = corrupt(np.asarray(img.convert('RGB')), self.corruption, self.severity, self.seed)
            results['img'] = Image.fromarray(out)
            return results
        if not isinstance(img, np.ndarray) or img.dtype != np.uint8:
            raise TypeError(f'Corrupt expects a uint8 array or a PIL image, got {type(img).__name__} '
                            f'{getattr(img, "dtype", "")}')
        gray = img.ndim == 2 or img.shape[2] == 1
        rgb = np.repeat(img.reshape(*img.shape[:2], 1), 3, axis=2) if gray else img
        if self.channel_order == 'bgr' and not gray:
            rgb = rgb[..., ::-1]
        out = corrupt(rgb, self.corruption, self.severity, self.seed)
        if gray:
            out = out.mean(axis=2, keepdims=img.ndim == 3).round().astype(np.uint8)
        elif self.channel_order == 'bgr':
            out = np.ascontiguousarray(out[..., ::-1])
        results['img'] = out
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(corruption={self.corruption!r}, severity={self.severity}, '
                f'seed={self.seed}, channel_order={self.channel_order!r})')
