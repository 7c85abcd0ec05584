"""The ``imagecorruptions`` corruptions (Michaelis et al. 2019, the COCO-C / Cityscapes-C code) as a
pipeline step: ImageNet-C's 15 benchmark and 4 hold-out corruptions (Hendrycks & Dietterich, ICLR 2019),
5 severities each, computed on the fly.

``imagecorruptions`` 1.1.2 is ImageNet-C's generation code (``make_imagenet_c.py``) made size-agnostic,
with ImageNet-C's constants, except in these places:

* ``elastic_transform`` is another algorithm: no random affine step, and another displacement field
  (alpha 12.5-30, sigma 1 % of the image side, instead of alpha up to 488 and sigma up to 170.8 px);
* ``motion_blur`` and the streaks of ``snow`` use a numpy shift-and-sum Gaussian kernel instead of
  ImageMagick's motion blur;
* ``frost`` enlarges its texture by 1.1 (and to the image size when smaller) before the random crop;
* ``pixelate`` up-samples with nearest instead of box filtering;
* the released ImageNet-C images were saved as JPEG quality 85; ``jpeg_quality=85`` (``tools/test.py
  --corruption-format jpeg85``) does the same here.

Numbers measured with this step are therefore not ImageNet-C numbers; ``tools/test.py --test-set
imagenet-c`` evaluates the released images. The float result is truncated to uint8 (``np.uint8``), as
both reference codes do. Each image is corrupted with a random stream seeded from its pixels, so every
model, worker and run sees the same corrupted image; numpy's global random state is restored afterwards.
"""
import argparse
import io
import zlib
from typing import Dict, List, Optional, Sequence

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
FORMATS = {'raw': None, 'jpeg85': 85}  # --corruption-format -> JPEG quality of the saved corrupted image


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


def parse_seed(text: str) -> int:
    """``--corruption-seed``: an integer >= 0 (an argparse type, so a bad seed stops the command at once)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r} is not an integer') from None
    if value < 0:
        raise argparse.ArgumentTypeError(f'{value} is negative; the seed is an integer >= 0')
    return value


def corrupt(img: np.ndarray, corruption: str, severity: int, seed: int = 0,
            jpeg_quality: Optional[int] = None) -> np.ndarray:
    """``img`` (uint8 RGB, HxWx3) with ``corruption`` at ``severity`` (1-5), deterministic in the image
    content and ``seed``; numpy's global random state is left as it was. The float result is truncated to
    uint8 like ``imagecorruptions.corrupt`` and ``make_imagenet_c.py`` (``np.uint8``); ``jpeg_quality``
    then saves and re-reads it as a JPEG of that quality, as the released ImageNet-C (85) was saved."""
    if corruption not in CORRUPTIONS:
        raise ValueError(f'corruption {corruption!r} is not known; choose one of {CORRUPTIONS}')
    if severity not in SEVERITIES:
        raise ValueError(f'severity={severity!r} must be one of {SEVERITIES}')
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise TypeError(f'corrupt expects a uint8 HxWx3 image, got {img.dtype} {img.shape}')
    if jpeg_quality is not None:
        check_int('jpeg_quality', jpeg_quality, min=1, max=95)
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
    out = np.clip(np.asarray(out, dtype=np.float64)[:img.shape[0], :img.shape[1]], 0, 255).astype(np.uint8)
    return out if jpeg_quality is None else as_jpeg(out, jpeg_quality)


def as_jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    """``img`` (uint8 RGB) saved as a JPEG of ``quality`` with PIL and read back, as ``make_imagenet_c.py``
    saved each corrupted image (``save(path, quality=85, optimize=True)``)."""
    buffer = io.BytesIO()
    Image.fromarray(img).save(buffer, format='JPEG', quality=quality, optimize=True)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return np.asarray(decoded.convert('RGB'))


@TRANSFORMS.register_module()
class Corrupt(BaseTransform):
    """Corrupts ``results['img']`` with an ``imagecorruptions`` corruption (see ``corrupt``).

    Works in the mmseg, mmdet (uint8 arrays, ``channel_order`` 'bgr' as mmcv loads them) and
    classification (RGB PIL images from ``LoadPILImage``) pipelines; place it right after loading.

    Args:
        corruption: one of ``CORRUPTIONS``.
        severity: 1-5.
        seed: mixed with the image content into the per-image random stream.
        channel_order: channel order of array images, 'bgr' or 'rgb'.
        jpeg_quality: save each corrupted image as a JPEG of this quality first (85: as ImageNet-C was
            released); None keeps the corrupted pixels.
    """

    def __init__(self, corruption: str, severity: int, seed: int = 0, channel_order: str = 'bgr',
                 jpeg_quality: Optional[int] = None) -> None:
        if corruption not in CORRUPTIONS:
            raise ValueError(f'corruption {corruption!r} is not known; choose one of {CORRUPTIONS}')
        check_int('severity', severity, min=min(SEVERITIES), max=max(SEVERITIES))
        check_int('seed', seed, min=0)
        check_choice('channel_order', channel_order, ('bgr', 'rgb'))
        if jpeg_quality is not None:
            check_int('jpeg_quality', jpeg_quality, min=1, max=95)
        self.jpeg_quality = jpeg_quality
        self.corruption = corruption
        self.severity = severity
        self.seed = seed
        self.channel_order = channel_order

    def transform(self, results: dict) -> dict:
        img = results['img']
        if isinstance(img, Image.Image):
            out = corrupt(np.asarray(img.convert('RGB')), self.corruption, self.severity, self.seed,
                          self.jpeg_quality)
            results['img'] = Image.fromarray(out)
            return results
        if not isinstance(img, np.ndarray) or img.dtype != np.uint8:
            raise TypeError(f'Corrupt expects a uint8 array or a PIL image, got {type(img).__name__} '
                            f'{getattr(img, "dtype", "")}')
        gray = img.ndim == 2 or img.shape[2] == 1
        rgb = np.repeat(img.reshape(*img.shape[:2], 1), 3, axis=2) if gray else img
        if self.channel_order == 'bgr' and not gray:
            rgb = rgb[..., ::-1]
        out = corrupt(rgb, self.corruption, self.severity, self.seed, self.jpeg_quality)
        if gray:
            out = out.mean(axis=2, keepdims=img.ndim == 3).round().astype(np.uint8)
        elif self.channel_order == 'bgr':
            out = np.ascontiguousarray(out[..., ::-1])
        results['img'] = out
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(corruption={self.corruption!r}, severity={self.severity}, '
                f'seed={self.seed}, channel_order={self.channel_order!r}, jpeg_quality={self.jpeg_quality})')
