"""ImageNet-C as released (Hendrycks & Dietterich, ICLR 2019): a classifier's top-1 errors on the released
images, normalised by AlexNet's, so that its mCE compares with published ones.

The release is ``<root>/<corruption>/<severity>/<wnid>/<ImageNet val file name>.JPEG``: the 224 x 224 centre
crops of ImageNet val (resize 256, crop 224), corrupted and saved as JPEG quality 85. The reference
evaluation (hendrycks/robustness, ``ImageNet-C/test.py``) reads them with ``CenterCrop(224)`` (a no-op on
224-px images), ``ToTensor`` and ImageNet mean / std normalisation, and the clean images with ``Resize(256)``,
``CenterCrop(224)``. Here the clean evaluation is the config's own test set and pipeline; each released
folder is read with ``ReleasedImageToTensor`` (the centre crop, no resize) and the config's normalisation.

AlexNet's errors (fractions, the mean over the 5 severities) are the constants of ``get_ce_alexnet`` in the
public ImageNet-C evaluation code (also mmpretrain's ``mCE`` metric). ``CE_c = E_c / E^AlexNet_c`` and
relative ``CE_c = (E_c - E_clean) / (E^AlexNet_c - E^AlexNet_clean)``, each the mean over the 5
severities; mCE and relative mCE are their means over the 15 benchmark corruptions. AlexNet's clean error
43.48 % is 100 - 56.52, the top-1 accuracy torchvision publishes for ``alexnet-owt-4df8aa71.pth``, the
checkpoint the reference ``test.py`` evaluates.
"""
import copy
import os
import os.path as osp
from typing import Dict, Sequence, Set

import numpy as np
from mmengine.config import Config

from ..datasets.image_folder import IMG_EXTENSIONS
from ..datasets.transforms.corruptions import BENCHMARK_CORRUPTIONS, CORRUPTION_FAMILIES, SEVERITIES

DEFAULT_ROOT = 'data/imagenet-c'
RELEASED_SIZE = 224
ALEXNET_ERRORS = {
    'gaussian_noise': 0.886428, 'shot_noise': 0.894468, 'impulse_noise': 0.922640,
    'defocus_blur': 0.819880, 'glass_blur': 0.826268, 'motion_blur': 0.785948, 'zoom_blur': 0.798360,
    'snow': 0.866816, 'frost': 0.826572, 'fog': 0.819324, 'brightness': 0.564592,
    'contrast': 0.853204, 'elastic_transform': 0.646056, 'pixelate': 0.717840, 'jpeg_compression': 0.606500,
}
ALEXNET_CLEAN_ERROR = 43.48  # percent: 100 - torchvision's AlexNet top-1 (56.52)
RELEASED_PIPELINE = [dict(type='LoadPILImage'), dict(type='ReleasedImageToTensor', size=RELEASED_SIZE),
                     dict(type='PackClsInputs')]


def _images(folder: str) -> Set[str]:
    """``<wnid>/<file>`` of every image in a severity folder."""
    found = set()
    for wnid in os.scandir(folder):
        if wnid.is_dir():
            found.update(f'{wnid.name}/{f.name}' for f in os.scandir(wnid.path)
                         if f.name.lower().endswith(IMG_EXTENSIONS))
    return found


def check_released_folders(root: str, corruptions: Sequence[str], severities: Sequence[int]) -> int:
    """Raises a one-line error when a chosen ``<root>/<corruption>/<severity>`` folder is missing, empty, or
    does not hold the same ``<wnid>/<file>`` images as the first one; returns the number of images."""
    first, listing = None, None
    for name in corruptions:
        for severity in severities:
            folder = osp.join(root, name, str(severity))
            if not osp.isdir(folder):
                raise FileNotFoundError(f'ImageNet-C: {folder} is missing; --test-root must hold '
                                        '<corruption>/<severity>/<wnid>/*.JPEG for every chosen corruption and '
                                        'severity')
            images = _images(folder)
            if not images:
                raise FileNotFoundError(f'ImageNet-C: {folder} holds no <wnid>/<image> files')
            if listing is None:
                first, listing = folder, images
            elif images != listing:
                lacking, lacked_by = sorted(listing - images), sorted(images - listing)
                short, other, names = (folder, first, lacking) if lacking else (first, folder, lacked_by)
                raise FileNotFoundError(f'ImageNet-C: {short} is incomplete: {len(names)} images of {other} are '
                                        f'not there, e.g. {names[:3]}')
    return len(listing or ())


def released_dataloader(cfg: Config, root: str, corruption: str, severity: int) -> dict:
    """The test dataloader config for ``<root>/<corruption>/<severity>``, labelled in the model's classes (the
    test dataset's ``serialize_data`` carries over)."""
    from .robustness import model_classes
    loader = copy.deepcopy(cfg.test_dataloader)
    loader.persistent_workers = False
    test = cfg.test_dataloader.dataset
    loader.dataset = dict(type='ImageFolderDataset', data_root=osp.join(root, corruption, str(severity)),
                          data_prefix='', classes=model_classes(test), pipeline=copy.deepcopy(RELEASED_PIPELINE),
                          test_mode=True, serialize_data=test.get('serialize_data', True))
    return loader


def _mean_over(names: Sequence[str], values: Dict[str, float]) -> float:
    return float(np.mean([values[name] for name in names]))


def alexnet_summary(top1: Dict[str, Dict[str, float]], clean_top1: float) -> dict:
    """Top-1 error per corruption (percent, mean over its severities), CE and relative CE against AlexNet
    for the benchmark corruptions evaluated at all 5 severities, their means ('mCE' / 'relative_mCE' over all
    15, else 'mean_CE' / 'mean_relative_CE' with the count), and the hold-out corruptions' mean error."""
    errors = {name: float(np.mean([100.0 - v for v in runs.values()])) for name, runs in top1.items()}
    clean_error = 100.0 - clean_top1
    out = {'clean_error': clean_error, 'errors': errors}
    full = [n for n in BENCHMARK_CORRUPTIONS if n in top1 and sorted(top1[n], key=int) == [str(s) for s in SEVERITIES]]
    ce = {n: 100.0 * errors[n] / (100.0 * ALEXNET_ERRORS[n]) for n in full}
    relative = {n: 100.0 * (errors[n] - clean_error) / (100.0 * ALEXNET_ERRORS[n] - ALEXNET_CLEAN_ERROR) for n in full}
    alexnet = {'CE': ce, 'relative_CE': relative, 'corruptions': len(full)}
    if len(full) == len(BENCHMARK_CORRUPTIONS):
        alexnet.update(mCE=_mean_over(full, ce), relative_mCE=_mean_over(full, relative))
    elif full:
        alexnet.update(mean_CE=_mean_over(full, ce), mean_relative_CE=_mean_over(full, relative))
    out['alexnet'] = alexnet
    holdout = [n for n in CORRUPTION_FAMILIES['holdout'] if n in top1]
    if holdout:
        out['holdout_error'] = float(np.mean([100.0 - v for n in holdout for v in top1[n].values()]))
    return out


def markdown_lines(summary: dict, digits: int = 2) -> list:
    """Per-corruption top-1 error with AlexNet CE and relative CE, then the means."""
    alexnet = summary['alexnet']
    lines = ['', '| corruption | top-1 error | CE (AlexNet) | relative CE (AlexNet) |', '|---|---:|---:|---:|']
    for name, error in summary['errors'].items():
        ce, rel = alexnet['CE'].get(name), alexnet['relative_CE'].get(name)
        lines.append(f'| {name} | {error:.{digits}f} | ' + ' | '.join(
            '—' if v is None else f'{v:.1f}' for v in (ce, rel)) + ' |')
    line = f"\ntop-1 error: clean {summary['clean_error']:.{digits}f}"
    if 'mCE' in alexnet:
        line += f", mCE {alexnet['mCE']:.1f}, relative mCE {alexnet['relative_mCE']:.1f} (AlexNet = 100)"
    elif 'mean_CE' in alexnet:
        line += (f", mean CE over {alexnet['corruptions']} corruptions {alexnet['mean_CE']:.1f}, mean relative CE "
                 f"{alexnet['mean_relative_CE']:.1f} (AlexNet = 100; mCE needs all 15 at 5 severities)")
    else:
        line += ', no AlexNet CE (it needs a benchmark corruption at all 5 severities)'
    if 'holdout_error' in summary:
        line += f", hold-out corruptions' error {summary['holdout_error']:.{digits}f}"
    return lines + [line]
