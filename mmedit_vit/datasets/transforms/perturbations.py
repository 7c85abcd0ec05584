"""Input perturbations for robustness evaluation (CB paper, Table 9, after Hendrycks & Dietterich).

Each image gets its own random stream, derived from the run's seed and the image path, so a
perturbed evaluation is the same whatever the order of images, the number of workers or processes.
Repeating a run with seeds 0..4 gives the paper's five-run mean and confidence interval.
"""
import zlib
from typing import Optional

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.registry import TRANSFORMS

from ...utils.arg_checks import check_float, check_int

# name -> (kind, strength): sigma in 0-255 pixel units for noise, in pixels for blur; photons for shot noise
PERTURBATIONS = {
    'shot_noise': ('shot_noise', 60.0),  # ImageNet-C severity 1
    'gaussian_noise_5': ('gaussian_noise', 5.0),
    'gaussian_noise_10': ('gaussian_noise', 10.0),
    'gaussian_blur_1': ('gaussian_blur', 1.0),
    'gaussian_blur_2': ('gaussian_blur', 2.0),
}
KINDS = ('shot_noise', 'gaussian_noise', 'gaussian_blur')


@TRANSFORMS.register_module()
class ImagePerturbation(BaseTransform):
    """Perturbs ``results['img']`` (uint8, HWC) with shot noise, Gaussian noise or Gaussian blur.

    Args:
        kind: ``'shot_noise'`` (Poisson photon noise: ``poisson(x / 255 * strength) / strength``),
            ``'gaussian_noise'`` (additive, ``strength`` = sigma in 0-255 units) or
            ``'gaussian_blur'`` (``strength`` = sigma in pixels).
        strength: see ``kind``.
        seed: seed of the run; combined with the image path for a per-image stream.
    """

    def __init__(self, kind: str, strength: float, seed: int = 0) -> None:
        if kind not in KINDS:
            raise ValueError(f'kind={kind!r} is not a perturbation; choose one of {KINDS}')
        check_float('strength', strength, min=0, min_open=True)
        check_int('seed', seed)
        self.kind = kind
        self.strength = float(strength)
        self.seed = int(seed)

    @classmethod
    def from_name(cls, name: str, seed: int = 0) -> 'ImagePerturbation':
        """One of the CB paper's named settings (``PERTURBATIONS``)."""
        if name not in PERTURBATIONS:
            raise ValueError(f'perturbation {name!r} is not known; choose one of {sorted(PERTURBATIONS)}')
        kind, strength = PERTURBATIONS[name]
        return cls(kind, strength, seed)

    def _rng(self, key: Optional[str]) -> np.random.Generator:
        return np.random.default_rng([self.seed, zlib.crc32((key or '').encode())])

    def transform(self, results: dict) -> dict:
        img = results['img']
        if img.dtype != np.uint8:
            raise TypeError(f'ImagePerturbation expects a uint8 image, got {img.dtype}')
        x = img.astype(np.float64)
        if self.kind == 'gaussian_blur':
            out = cv2.GaussianBlur(x, (0, 0), sigmaX=self.strength, sigmaY=self.strength,
                                   borderType=cv2.BORDER_REFLECT_101)
        else:
            rng = self._rng(results.get('img_path'))
            if self.kind == 'gaussian_noise':
                out = x + rng.normal(0.0, self.strength, size=x.shape)
            else:
                out = rng.poisson(x / 255.0 * self.strength) / self.strength * 255.0
        results['img'] = np.clip(np.rint(out), 0, 255).astype(np.uint8)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(kind={self.kind!r}, strength={self.strength}, seed={self.seed})'
