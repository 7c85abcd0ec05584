"""``imagecorruptions`` 1.1.2 (Michaelis et al., the ImageNet-C code that mmdet's ``Corrupt`` calls) on
current numpy / scikit-image.

The library's maths is used unchanged; three names it looks up in its module namespace are replaced:

* ``gaussian``: scikit-image 0.19 replaced ``multichannel=True`` by ``channel_axis=-1`` and 0.26 removed
  it (glass_blur, gaussian_blur);
* ``np``: numpy 2 removed ``np.float_`` (fog's plasma fractal); the replacement is numpy with that alias;
* ``sk``: ``skimage.util.random_noise`` draws from a fresh unseeded generator (impulse_noise); the
  replacement seeds it from numpy's global state, which ``Corrupt`` seeds per image.

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
    return dict(imagecorruptions.corruption_dict)
