"""The imagecorruptions corruptions (``Corrupt``): ImageNet-C's constants, truncation to uint8 as the references,
the JPEG-85 format, determinism, every corruption runs."""
import numpy as np
import pytest
from PIL import Image

from mmedit_vit.datasets.transforms.corruptions import (
    BENCHMARK_CORRUPTIONS,
    CORRUPTIONS,
    Corrupt,
    corrupt,
    family_of,
    parse_seed,
    resolve_corruptions,
)


def scene(h: int = 64, w: int = 80, seed: int = 0) -> np.ndarray:
    """A smooth colour gradient with two rectangles: edges for blurs, mid-tones for noise."""
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([40 + 150 * x / w, 60 + 120 * y / h, 100 + 50 * np.sin(x / 7.0)], axis=2)
    img[h // 4:h // 2, w // 5:w // 2] = (220, 40, 30)
    img[h // 2:, w // 2:] = (20, 30, 200)
    img += np.random.default_rng(seed).normal(0, 2, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def test_benchmark_has_15_corruptions_in_4_families_plus_4_holdout():
    assert len(BENCHMARK_CORRUPTIONS) == 15 and len(CORRUPTIONS) == 19
    assert [family_of(n) for n in BENCHMARK_CORRUPTIONS].count('blur') == 4
    assert resolve_corruptions(['noise']) == ['gaussian_noise', 'shot_noise', 'impulse_noise']
    assert resolve_corruptions(['contrast', 'noise']) == ['gaussian_noise', 'shot_noise', 'impulse_noise', 'contrast']
    assert resolve_corruptions(['all']) == CORRUPTIONS
    with pytest.raises(ValueError, match='rain'):
        resolve_corruptions(['rain'])


@pytest.mark.parametrize('severity,sigma', [(1, .08), (2, .12), (3, .18), (4, .26), (5, .38)])
def test_gaussian_noise_std_per_severity(severity, sigma):
    """The median absolute deviation is untouched by the clipping at 0 and 1 (beyond 1.3 sigma here)."""
    img = np.full((256, 256, 3), 128, np.uint8)
    d = (corrupt(img, 'gaussian_noise', severity).astype(float) - 128) / 255
    assert np.median(np.abs(d)) / 0.6745 == pytest.approx(sigma, rel=0.03)
    assert abs(d.mean()) < 0.01


@pytest.mark.parametrize('severity,photons', [(1, 60), (2, 25)])
def test_shot_noise_is_poisson_with_the_published_photon_counts(severity, photons):
    img = np.full((256, 256, 3), 128, np.uint8)
    x = corrupt(img, 'shot_noise', severity).astype(float) / 255
    assert x.std() == pytest.approx(np.sqrt(128 / 255 / photons), rel=0.03)


@pytest.mark.parametrize('severity,sigma', [(1, 1), (2, 2), (3, 3), (4, 4), (5, 6)])
def test_gaussian_blur_sigma_per_severity(severity, sigma):
    """A one-pixel white line becomes a sampled Gaussian of the published sigma, channels kept apart."""
    line = np.zeros((64, 128, 3), np.uint8)
    line[:, 64, 0] = 255
    out = corrupt(line, 'gaussian_blur', severity)
    taps = np.exp(-np.arange(-4 * sigma, 4 * sigma + 1) ** 2 / (2 * sigma ** 2))
    assert 0 <= 255 / taps.sum() - int(out[32, 64, 0]) < 1  # truncated to uint8
    assert out[..., 1:].max() == 0


@pytest.mark.parametrize('severity,radius', [(1, 3), (2, 4), (3, 6), (4, 8), (5, 10)])
def test_defocus_blur_disk_radius_per_severity(severity, radius):
    """Across a step edge, a disk of radius r spreads the transition over about 2r pixels."""
    edge = np.zeros((64, 96, 3), np.uint8)
    edge[:, 48:] = 255
    row = corrupt(edge, 'defocus_blur', severity)[32, :, 0]
    width = int(((row > row[0]) & (row < row[-1])).sum())  # white is 254: 0.99999994 * 255, truncated
    assert 2 * radius - 1 <= width <= 2 * radius + 3


@pytest.mark.parametrize('severity,factor', [(1, .4), (3, .2), (5, .05)])
def test_contrast_scales_around_the_mean(severity, factor):
    img = np.zeros((40, 40, 3), np.uint8)
    img[:, 20:] = 200
    out = corrupt(img, 'contrast', severity).astype(float)
    assert out[0, 30, 0] - out[0, 0, 0] == pytest.approx(200 * factor, abs=1)
    assert out.mean() == pytest.approx(100, abs=0.6)


@pytest.mark.parametrize('severity,scale', [(1, .6), (2, .5), (5, .25)])
def test_pixelate_block_count(severity, scale):
    img = scene(64, 80)
    out = corrupt(img, 'pixelate', severity)
    columns = 1 + int((np.abs(np.diff(out.astype(int), axis=1)).sum(axis=(0, 2)) > 0).sum())
    assert columns == int(80 * scale)


def test_brightness_adds_to_the_value_channel():
    img = np.full((40, 40, 3), 51, np.uint8)  # grey, V = 0.2
    assert np.all(corrupt(img, 'brightness', 3) == 127)  # (0.2 + 0.3) * 255 = 127.5, truncated


@pytest.mark.parametrize('name,severity', [('contrast', 3), ('defocus_blur', 2), ('zoom_blur', 1)])
def test_float_output_is_truncated_like_both_reference_codes(name, severity):
    """imagecorruptions.corrupt and make_imagenet_c.py convert with np.uint8 (truncation); rounding would
    add half a grey level to every pixel."""
    from mmedit_vit.datasets.transforms.imagecorruptions_compat import corruption_functions
    functions = corruption_functions()  # imports the library with its deprecation warnings silenced
    import imagecorruptions
    img = scene()
    raw = np.asarray(functions[name](Image.fromarray(img), severity), dtype=np.float64)
    ours = corrupt(img, name, severity)
    assert np.array_equal(ours, imagecorruptions.corrupt(img, severity=severity, corruption_name=name))
    assert np.array_equal(ours, np.uint8(raw))
    assert (np.rint(raw) != np.uint8(raw)).mean() > 0.2  # the test tells the two apart


def test_jpeg85_saves_the_corrupted_image_as_the_release_did():
    import io
    img = scene()
    raw = corrupt(img, 'contrast', 2)
    buffer = io.BytesIO()
    Image.fromarray(raw).save(buffer, format='JPEG', quality=85, optimize=True)
    expected = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert('RGB'))
    assert np.array_equal(corrupt(img, 'contrast', 2, jpeg_quality=85), expected)
    assert not np.array_equal(expected, raw)
    step = Corrupt('contrast', 2, channel_order='rgb', jpeg_quality=85)
    assert np.array_equal(step(dict(img=img))['img'], expected)
    with pytest.raises(ValueError, match='jpeg_quality=0'):
        Corrupt('contrast', 2, jpeg_quality=0)


def test_seed_argument_refuses_negative_numbers():
    import argparse
    assert parse_seed('3') == 3
    with pytest.raises(argparse.ArgumentTypeError, match='-1 is negative'):
        parse_seed('-1')


def test_same_image_same_corruption_and_global_random_state_untouched():
    img = scene()
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    first = corrupt(img, 'gaussian_noise', 3)
    assert np.array_equal(np.random.get_state()[1], before)
    np.random.rand(7)  # whatever happened to the global stream in between
    assert np.array_equal(corrupt(img, 'gaussian_noise', 3), first)
    assert not np.array_equal(corrupt(img, 'gaussian_noise', 3, seed=1), first)
    other = img.copy()
    other[0, 0, 0] ^= 1  # another image: another noise draw
    assert np.abs(corrupt(other, 'gaussian_noise', 3)[5:].astype(int) - first[5:]).sum() > 1000


def test_impulse_noise_is_deterministic():
    """scikit-image's random_noise draws from its own generator; it is seeded from the image too."""
    img = scene()
    assert np.array_equal(corrupt(img, 'impulse_noise', 4), corrupt(img, 'impulse_noise', 4))


@pytest.mark.parametrize('name', ['gaussian_noise', 'shot_noise', 'impulse_noise', 'defocus_blur', 'motion_blur',
                                  'zoom_blur', 'contrast', 'jpeg_compression', 'gaussian_blur'])
def test_severity_monotonic(name):
    img = scene()
    change = [np.abs(corrupt(img, name, s).astype(float) - img).mean() for s in range(1, 6)]
    assert all(b >= a - 0.05 for a, b in zip(change, change[1:])), change
    assert change[-1] > change[0]


@pytest.mark.parametrize('name', CORRUPTIONS)
def test_every_corruption_runs_and_keeps_dtype_and_shape(name):
    img = scene(48, 56)
    out = corrupt(img, name, 2)
    assert out.dtype == np.uint8 and out.shape == img.shape
    assert not np.array_equal(out, img)
    assert np.array_equal(out, corrupt(img, name, 2))


def test_transform_handles_bgr_arrays_pil_images_and_gray():
    img = scene()
    rgb = corrupt(img, 'frost', 2)
    step = Corrupt('frost', 2)
    assert np.array_equal(step(dict(img=img[..., ::-1].copy()))['img'], rgb[..., ::-1])
    assert np.array_equal(Corrupt('frost', 2, channel_order='rgb')(dict(img=img))['img'], rgb)
    pil = step(dict(img=Image.fromarray(img)))['img']
    assert isinstance(pil, Image.Image) and np.array_equal(np.asarray(pil), rgb)
    gray = step(dict(img=img[..., 0].copy()))['img']
    assert gray.shape == img.shape[:2] and gray.dtype == np.uint8


def test_transform_is_found_from_every_scope():
    from mmdet.registry import TRANSFORMS as DET
    from mmengine.registry import TRANSFORMS
    from mmseg.registry import TRANSFORMS as SEG

    from mmedit_vit.registry import TRANSFORMS as CLS
    for registry in (SEG, CLS, TRANSFORMS):
        assert registry.get('Corrupt') is Corrupt
    assert DET.get('mmengine.Corrupt') is Corrupt  # mmdet's own 'Corrupt' is its unseeded one


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match='rain'):
        Corrupt('rain', 1)
    with pytest.raises(ValueError, match='severity=6'):
        Corrupt('fog', 6)
    with pytest.raises(ValueError, match='too small'):
        corrupt(np.zeros((16, 64, 3), np.uint8), 'fog', 1)
    with pytest.raises(TypeError, match='uint8'):
        Corrupt('fog', 1)(dict(img=np.zeros((64, 64, 3), np.float32)))


@pytest.mark.parametrize('severity', [1, 2, 3, 4, 5])
def test_fast_glass_blur_equals_the_library_loop(severity):
    from imagecorruptions import corruptions

    from mmedit_vit.datasets.transforms.imagecorruptions_compat import corruption_functions, glass_blur
    corruption_functions()  # the library's module with scikit-image 0.26's gaussian
    img = Image.fromarray(scene(36, 44))
    np.random.seed(severity)
    expected = corruptions.glass_blur(img, severity)
    np.random.seed(severity)
    assert np.array_equal(glass_blur(img, severity), expected)
