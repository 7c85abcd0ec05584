"""The CB paper's input perturbations (Table 9): statistics as specified, reproducible per seed and image."""
import math

import numpy as np
import pytest
from mmengine.registry import TRANSFORMS

from mmedit_vit.datasets import PERTURBATIONS, ImagePerturbation


def apply(step, img, path='a.jpg'):
    return step.transform(dict(img=img.copy(), img_path=path))['img']


def flat_image(value=128, shape=(200, 200, 3)):
    return np.full(shape, value, np.uint8)


def test_named_settings_match_the_paper():
    assert PERTURBATIONS == {
        'shot_noise': ('shot_noise', 60.0), 'gaussian_noise_5': ('gaussian_noise', 5.0),
        'gaussian_noise_10': ('gaussian_noise', 10.0), 'gaussian_blur_1': ('gaussian_blur', 1.0),
        'gaussian_blur_2': ('gaussian_blur', 2.0)}
    step = TRANSFORMS.build(dict(type='ImagePerturbation', kind='gaussian_noise', strength=5.0, seed=1))
    assert isinstance(step, ImagePerturbation)


@pytest.mark.parametrize('sigma', [5.0, 10.0])
def test_gaussian_noise_has_the_given_sigma(sigma):
    out = apply(ImagePerturbation('gaussian_noise', sigma), flat_image()).astype(np.float64)
    noise = out - 128
    assert abs(noise.mean()) < 0.1
    # rounding to integers adds variance 1/12
    assert noise.std() == pytest.approx(np.sqrt(sigma ** 2 + 1 / 12), rel=0.02)


def test_shot_noise_is_poisson_in_photon_counts():
    photons = 60.0
    out = apply(ImagePerturbation('shot_noise', photons), flat_image(102)).astype(np.float64)
    counts = out / 255 * photons  # the mean photon count is 102 / 255 * 60 = 24
    assert counts.mean() == pytest.approx(24.0, rel=0.01)
    assert counts.var() == pytest.approx(24.0, rel=0.05)  # Poisson: variance = mean
    dark = apply(ImagePerturbation('shot_noise', photons), flat_image(0))
    assert (dark == 0).all()  # no photons, no noise


@pytest.mark.parametrize('sigma', [1.0, 2.0])
def test_blur_is_a_gaussian_of_the_given_sigma(sigma):
    img = np.zeros((21, 40, 3), np.uint8)
    img[:, 20:] = 255  # a vertical step edge between columns 19 and 20
    out = apply(ImagePerturbation('gaussian_blur', sigma), img).astype(np.float64)
    x = np.arange(40) - 19.5

    def edge(s):  # a step edge convolved with N(0, s^2): 255 * Phi(x / s)
        return 255 * 0.5 * (1 + np.vectorize(math.erf)(x / (s * math.sqrt(2))))

    assert np.abs(out[10, :, 0] - edge(sigma)).max() <= 3.0  # sampled kernel vs continuous: within 3 levels
    assert np.abs(out[10, :, 0] - edge(1.5 * sigma)).max() > 10.0
    assert (out[:, :, 0] == out[:, :, 2]).all() and (out == out[:1]).all()  # per channel, along the edge


def test_noise_is_reproducible_per_seed_and_image():
    img = flat_image(100, (32, 32, 3))
    step = ImagePerturbation('gaussian_noise', 10.0, seed=7)
    first = apply(step, img, 'x/1.jpg')
    assert np.array_equal(first, apply(step, img, 'x/1.jpg'))
    assert np.array_equal(first, apply(ImagePerturbation('gaussian_noise', 10.0, seed=7), img, 'x/1.jpg'))
    assert not np.array_equal(first, apply(step, img, 'x/2.jpg'))
    assert not np.array_equal(first, apply(ImagePerturbation('gaussian_noise', 10.0, seed=8), img, 'x/1.jpg'))


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="kind='snow'"):
        ImagePerturbation('snow', 1.0)
    with pytest.raises(ValueError, match='strength'):
        ImagePerturbation('gaussian_blur', 0.0)
    with pytest.raises(ValueError, match='gaussian_noise_5'):
        ImagePerturbation.from_name('noise')
