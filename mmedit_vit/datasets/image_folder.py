"""ImageNet-style folder datasets: ``<data_root>/<split>/<class>/<image>``, one folder per class.

Used for ImageNet-1k, ImageNet-100, ImageNet-21k-style roots and the transfer sets (CIFAR-10/100,
Flowers-102, DTD, Caltech-256) kept in folder form. The class order is the sorted folder names, a
named list ('imagenet-1k': the standard synset order), a list, a text file, or another folder.
"""
import os
import os.path as osp
from functools import partial
from typing import List, Sequence, Union

from mmengine.dataset import BaseDataset
from mmengine.registry import DATASETS

from ..utils.arg_checks import check_arguments, check_bool, check_int, check_ints
from .imagenet_subsets import NAMED_CLASS_LISTS, named_synsets

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp', '.jpeg2000')


def _class_folders(root: str) -> List[str]:
    if not osp.isdir(root):
        raise FileNotFoundError(f'class folder root not found: {root}')
    return sorted(d.name for d in os.scandir(root) if d.is_dir())


def _images_in(folder: str, extensions: Sequence[str]) -> List[str]:
    found = []
    for parent, _, files in os.walk(folder, followlinks=True):
        found += [osp.join(parent, f) for f in files if f.lower().endswith(tuple(extensions))]
    return sorted(found)


def resolve_classes(classes: Union[None, str, Sequence[str]], data_root: str, image_root: str) -> List[str]:
    """The class list: folder names under ``image_root`` (None), a named list, a .txt file (one name a
    line), a folder whose subfolders name the classes (relative paths are taken from ``data_root``),
    or an explicit list."""
    if classes is None:
        return _class_folders(image_root)
    if isinstance(classes, str):
        if classes in NAMED_CLASS_LISTS:
            return named_synsets(classes)
        path = classes if osp.isabs(classes) else osp.join(data_root, classes)
        if osp.isdir(path):
            return _class_folders(path)
        if osp.isfile(path):
            with open(path) as f:
                return [line.strip().split()[0] for line in f if line.strip()]
        raise FileNotFoundError(f'classes={classes!r} is neither one of {sorted(NAMED_CLASS_LISTS)} nor an '
                                f'existing folder or class-list file ({path})')
    return list(classes)


# the numeric and boolean arguments of mmengine's BaseDataset
BASE_DATASET_CHECKS = {
    'serialize_data': check_bool, 'lazy_init': check_bool, 'max_refetch': partial(check_int, min=0),
    'indices': partial(check_ints, min=0, scalar_ok=True, optional=True),
}


@DATASETS.register_module()
class ImageFolderDataset(BaseDataset):
    """One folder per class, or an ``ann_file`` of ``relative/path label`` lines.

    Args:
        data_root: dataset root.
        data_prefix: ``dict(img_path='train')``: the split folder under ``data_root``.
        classes: class order (see ``resolve_classes``); folders not in it are an error.
        ann_file: optional list file; labels are then read from it instead of folder names.
        extensions: image file endings that are read.
    """

    def __init__(self,
                 data_root: str = '',
                 data_prefix: Union[str, dict] = '',
                 classes: Union[None, str, Sequence[str]] = None,
                 ann_file: str = '',
                 extensions: Sequence[str] = IMG_EXTENSIONS,
                 pipeline: Sequence = (),
                 test_mode: bool = False,
                 **kwargs) -> None:
        check_bool('test_mode', test_mode)
        check_arguments(super().__init__, (), kwargs, BASE_DATASET_CHECKS)
        if isinstance(data_prefix, str):
            data_prefix = dict(img_path=data_prefix)
        self._classes_arg = classes
        self.extensions = tuple(e.lower() for e in extensions)
        super().__init__(ann_file=ann_file, data_root=data_root, data_prefix=data_prefix,
                         pipeline=list(pipeline), test_mode=test_mode, **kwargs)

    @property
    def image_root(self) -> str:
        return self.data_prefix.get('img_path', '') or self.data_root

    def load_data_list(self) -> List[dict]:
        classes = resolve_classes(self._classes_arg, self.data_root, self.image_root)
        self._metainfo['classes'] = tuple(classes)
        if self.ann_file:
            return self._load_ann_file(len(classes))
        index = {name: i for i, name in enumerate(classes)}
        folders = _class_folders(self.image_root)
        if not folders:
            raise FileNotFoundError(f'no class folders under {self.image_root}: expected '
                                    '<data_root>/<split>/<class>/<image> (ImageNet layout)')
        unknown = [f for f in folders if f not in index]
        if unknown:
            raise ValueError(f'{len(unknown)} class folders under {self.image_root} are not in the class list '
                             f'({len(classes)} classes): {unknown[:5]}')
        data_list = []
        for folder in folders:
            for path in _images_in(osp.join(self.image_root, folder), self.extensions):
                data_list.append(dict(img_path=path, gt_label=index[folder]))
        if not data_list:
            raise FileNotFoundError(f'no images ({", ".join(self.extensions)}) under {self.image_root}')
        return data_list

    def _load_ann_file(self, num_classes: int) -> List[dict]:
        data_list = []
        with open(self.ann_file) as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                path, label = line.rsplit(maxsplit=1)
                if not label.isdigit() or int(label) >= num_classes:
                    raise ValueError(f'{self.ann_file}:{number}: label {label!r} is not an integer in '
                                     f'[0, {num_classes})')
                data_list.append(dict(img_path=osp.join(self.image_root, path), gt_label=int(label)))
        return data_list
