"""Per-sample checks that turn bad files into errors naming the file, at the moment it is read.

``CheckImageFile`` goes before image loading (an empty file otherwise fails inside OpenCV without a
name); label files are checked as they are decoded, by ``LoadSegLabels`` (seg_labels.py).
``mmedit_vit.apis.run_config.add_sample_checks`` puts both into every pipeline of a config.
"""
import os
import os.path as osp

from mmengine.registry import TRANSFORMS


class BadSampleError(ValueError):
    """An image or annotation file of the dataset is unusable; the message names it."""


@TRANSFORMS.register_module()
class CheckImageFile:
    """Refuses a local image file that is empty (0 bytes), before a decoder fails on it."""

    def __call__(self, results: dict) -> dict:
        path = results.get('img_path')
        if isinstance(path, str) and '://' not in path and osp.isfile(path) and os.path.getsize(path) == 0:
            raise BadSampleError(f'image file {path} is empty (0 bytes); replace or remove it')
        return results

    def __repr__(self) -> str:
        return 'CheckImageFile()'
