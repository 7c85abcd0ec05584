"""Check, before anything is built, that the data a config reads is on disk.

A missing dataset would otherwise surface as a traceback from inside a data loader worker; this
names the paths that were expected, how to get the data, and how to run the demo instead.
"""
import os
import os.path as osp
from typing import Dict, Iterable, List, Optional

DEMO_HINT = 'No data at hand? `bash tools/run_demo.sh` trains and evaluates on generated data.'

# dataset type -> how to get it (one entry per dataset family the configs use)
DATASET_HINTS: Dict[str, str] = {
    'ADE20KDataset': (
        'ADE20K (SceneParsing, 150 classes): download ADEChallengeData2016.zip from '
        'http://data.csail.mit.edu/places/ADEchallenge/ADEChallengeData2016.zip and unzip it so that '
        '<data_root>/images/{training,validation} and <data_root>/annotations/{training,validation} '
        'exist (mmseg layout), or point the config at it with '
        '--cfg-options train_dataloader.dataset.data_root=... val_dataloader.dataset.data_root=... '
        'test_dataloader.dataset.data_root=...'),
    'CocoDataset': (
        'COCO 2017 (instances): download train2017.zip, val2017.zip and annotations_trainval2017.zip from '
        'https://cocodataset.org/#download and unzip them so that <data_root>/{train2017,val2017} and '
        '<data_root>/annotations/instances_{train,val}2017.json exist (mmdet layout), or point the config at it '
        'with --cfg-options train_dataloader.dataset.data_root=... val_dataloader.dataset.data_root=... '
        'test_dataloader.dataset.data_root=... val_evaluator.ann_file=... test_evaluator.ann_file=... '
        '(`python -m mmedit_vit.datasets.synthetic_coco DIR` writes a small generated set in this layout)'),
    'ImageFolderDataset': (
        'ImageNet-style folders, <data_root>/{train,val}/<class>/<image>. ImageNet-1k: download ILSVRC2012 '
        '(https://image-net.org/download.php), extract train/ into one folder per synset and sort val/ into '
        'the same synset folders (e.g. valprep.sh of the pytorch/examples imagenet README); ImageNet-100, '
        'ImageNet-21k-style roots and the transfer sets (CIFAR-10/100, Flowers-102, DTD, Caltech-256) use '
        'the same layout, one folder per class. Point a config elsewhere with --cfg-options '
        'train_dataloader.dataset.data_root=... val_dataloader.dataset.data_root=... '
        'test_dataloader.dataset.data_root=... (`python tools/demo_classification.py` trains on generated folders)'),
    'ImageNetSubsetDataset': (
        'ImageNet-A (https://people.eecs.berkeley.edu/~hendrycks/imagenet-a.tar) or ImageNet-R '
        '(https://people.eecs.berkeley.edu/~hendrycks/imagenet-r.tar): extract so that '
        '<data_root>/<synset>/<image> exists (data/imagenet-a, data/imagenet-r by default).'),
}

_SPLITS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


class DatasetNotFoundError(FileNotFoundError):
    """A dataset named by a config is not where the config says."""


def _leaf_datasets(dataset_cfg: dict) -> Iterable[dict]:
    """Datasets inside wrappers (ConcatDataset, RepeatDataset, ClassBalancedDataset, ...)."""
    if 'datasets' in dataset_cfg:
        for sub in dataset_cfg['datasets']:
            yield from _leaf_datasets(sub)
    elif 'dataset' in dataset_cfg:
        yield from _leaf_datasets(dataset_cfg['dataset'])
    else:
        yield dataset_cfg


def _expected_paths(dataset_cfg: dict) -> List[str]:
    root = dataset_cfg.get('data_root') or ''
    paths = [root] if root else []
    prefix = dataset_cfg.get('data_prefix') or {}
    if isinstance(prefix, str):
        prefix = dict(prefix=prefix)
    for value in prefix.values():
        if isinstance(value, str) and value:
            paths.append(osp.join(root, value))
    ann_file = dataset_cfg.get('ann_file')
    if isinstance(ann_file, str) and ann_file:
        paths.append(osp.join(root, ann_file))
    return [p for p in paths if '://' not in p]


# segmentation datasets whose images are found by file ending (mmseg's BaseSegDataset): type -> default ending
IMAGE_SUFFIXES: Dict[str, str] = {'ADE20KDataset': '.jpg'}
IMAGE_ENDINGS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp', '.ppm', '.pgm')


def _image_folder_problem(dataset: dict) -> Optional[str]:
    """mmseg lists ``img_path`` by ``img_suffix`` and silently skips other files; an empty list or
    images with another ending are reported here."""
    suffix = dataset.get('img_suffix', IMAGE_SUFFIXES.get(dataset.get('type')))
    prefix = dataset.get('data_prefix') or {}
    folder = prefix.get('img_path') if isinstance(prefix, dict) else None
    if suffix is None or not folder or dataset.get('ann_file'):
        return None
    folder = osp.join(dataset.get('data_root') or '', folder)
    if not osp.isdir(folder):
        return None
    files = [f for _, _, names in os.walk(folder) for f in names]
    matching = [f for f in files if f.endswith(suffix)]
    others = sorted({osp.splitext(f)[1] for f in files if f.lower().endswith(IMAGE_ENDINGS) and not f.endswith(suffix)})
    if others:
        count = sum(1 for f in files if osp.splitext(f)[1] in others)
        return (f'{folder}: {count} image(s) ending in {", ".join(others)} would be skipped; this dataset reads '
                f'images ending in {suffix!r} (img_suffix) only. Convert them, or set the dataset\'s img_suffix')
    if not matching:
        return f'{folder}: no images ending in {suffix!r} (the folder has {len(files)} files)'
    return None


def check_data_roots(cfg, splits: Optional[Iterable[str]] = None) -> None:
    """Raise ``DatasetNotFoundError`` if a dataloader of ``cfg`` reads paths that do not exist.

    ``splits`` defaults to every dataloader the config defines (``train_dataloader``,
    ``val_dataloader``, ``test_dataloader``).
    """
    problems = []
    for split in splits or _SPLITS:
        loader = cfg.get(split)
        if not loader or not loader.get('dataset'):
            continue
        for dataset in _leaf_datasets(loader['dataset']):
            missing = [p for p in _expected_paths(dataset) if not osp.exists(p)]
            if missing:
                problems.append((split, dataset.get('type', '?'), missing))
            elif _image_folder_problem(dataset):
                raise DatasetNotFoundError(f'{split} ({dataset.get("type", "?")}): {_image_folder_problem(dataset)}')
    if not problems:
        return
    lines = ['the data this config reads is missing:']
    for split, dataset_type, missing in problems:
        lines.append(f'  {split} ({dataset_type}): ' + ', '.join(repr(p) for p in missing))
    for dataset_type in dict.fromkeys(t for _, t, _ in problems):
        if dataset_type in DATASET_HINTS:
            lines.append(f'{dataset_type}: {DATASET_HINTS[dataset_type]}')
    lines.append(DEMO_HINT)
    raise DatasetNotFoundError('\n'.join(lines))
