"""``imagecorruptions`` 1.1.2 (Michaelis et al., the ImageNet-C code that mmdet's ``Corrupt`` calls) on
current numpy / scikit-image.

The library's maths is used unchanged; three names it looks up in its module namespace are replaced:

* ``gaussian``: scikit-image 0.19 replaced ``multichannel=True`` by ``channel_axis=-1`` and 0.26 removed
  it (glass_blur, gaussian_blur);
* ``np``: numpy 2 removed ``np.float_`` (fog's plasma fractal); the replacement is numpy with that alias;
* ``sk``: ``skimage.util.random_noise`` draws from a fresh unseeded generator (impulse_noise); the
  replacement seeds it from numpy's global state, which ``Corrupt`` seeds per image, through its ``rng``
  argument (scikit-image 0.21 or newer: before, it was called ``seed``).

``glass_blur`` is the library's pixel loop on a Python list instead of numpy element views (about 50x
faster, the same output for the same random state: tests/test_corruptions.py compares them). Like the
published code, each step copies the displaced pixel over the current one (the "swap" of two numpy views).

``corruption_functions()`` returns the library's name -> function table with these replacements made.
"""
import functools
import types
import warnings
from typing import Callable, Dict

import numpy as np


class _Overlay(types.ModuleType):
    """``module`` with some attributes replaced; every other attribute is the module's own."""

    def __init__(self, module, **replaced) -> None:
        super().__init__(module.__name__)
        self._module = module
        self.__dict__.update(replaced)

    def __getattr__(self, name: str):
        return getattr(self._module, name)


def _gaussian(image, sigma=1, multichannel=None, **kwargs):
    from skimage.filters import gaussian
    if multichannel:
        kwargs.setdefault('channel_axis', -1)
    return gaussian(image, sigma=sigma, **kwargs)


def _random_noise(image, mode='gaussian', rng=None, **kwargs):
    from skimage.util import random_noise
    if rng is None:
        rng = np.random.randint(0, 2**31 - 1)
    return random_noise(image, mode=mode, rng=rng, **kwargs)


GLASS_BLUR = [(0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2)]  # sigma, max_delta, iterations


def glass_blur(x, severity: int = 1) -> np.ndarray:
    """ImageNet-C glass blur: Gaussian blur, local pixel displacement, Gaussian blur again."""
    sigma, delta, iterations = GLASS_BLUR[severity - 1]
    x = np.uint8(_gaussian(np.array(x) / 255., sigma=sigma, multichannel=True) * 255)
    shape = x.shape
    h, w = shape[:2]
    pixels = x.reshape(h * w, -1).tolist()
    rows, cols = range(h - delta, delta, -1), range(w - delta, delta, -1)
    for _ in range(iterations):
        # the library draws np.random.randint(-delta, delta, size=(2,)) per pixel: the same stream in one call
        shifts = iter(np.random.randint(-delta, delta, size=(len(rows) * len(cols), 2)).tolist())
        for r in rows:
            for c in cols:
                dx, dy = next(shifts)
                pixels[r * w + c] = pixels[(r + dy) * w + c + dx]
    x = np.array(pixels, dtype=np.uint8).reshape(shape)
    return np.clip(_gaussian(x / 255., sigma=sigma, multichannel=True), 0, 1) * 255


@functools.lru_cache(maxsize=1)
def corruption_functions() -> Dict[str, Callable]:
    """``imagecorruptions.corruption_dict`` (name -> ``f(PIL image, severity)``), working on this stack."""
    with warnings.catch_warnings():  # its imports of pkg_resources and scipy.ndimage.interpolation
        warnings.simplefilter('ignore')
        import imagecorruptions
        import skimage
        import skimage.util
        from imagecorruptions import corruptions
    corruptions.gaussian = _gaussian
    corruptions.np = _Overlay(np, float_=np.float64)
    corruptions.sk = _Overlay(skimage, util=_Overlay(skimage.util, random_noise=_random_noise))
    return dict(imagecorruptions.corruption_dict, glass_blur=glass_blur)
