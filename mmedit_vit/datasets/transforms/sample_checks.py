"""Per-sample checks that turn bad files into errors naming the file, at the moment it is read.

``CheckImageFile`` goes before image loading (an empty file otherwise fails inside OpenCV without a
name); ``CheckSegLabels`` goes after mmseg's ``LoadAnnotations``: a colour-coded (RGB) annotation, one
whose size differs from its image, or label values outside the classes would otherwise train on
garbage or be mis-scored silently (mmseg's IoU histogram drops out-of-range values).
``mmedit_vit.apis.run_config.add_sample_checks`` puts both into every pipeline of a config.
"""
import os
import os.path as osp
from typing import Optional

import numpy as np
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


@TRANSFORMS.register_module()
class CheckSegLabels:
    """Checks ``gt_seg_map`` right after loading: one channel, the image's size, values in the classes.

    Args:
        num_classes: the model's classes; valid values are ``0 .. num_classes - 1`` and ``ignore_index``
            (after ``reduce_zero_label``, which maps ADE20K's 0 to 255).
        ignore_index: the label ignored by the loss and the metric.
    """

    def __init__(self, num_classes: int, ignore_index: int = 255) -> None:
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f'num_classes={num_classes!r} must be a positive integer')
        self.num_classes = num_classes
        self.ignore_index = ignore_index

    def __call__(self, results: dict) -> dict:
        seg = results.get('gt_seg_map')
        if seg is None:
            return results
        path = results.get('seg_map_path', '<annotation>')
        if seg.ndim != 2:
            raise BadSampleError(
                f'annotation {path} has shape {tuple(seg.shape)}: a colour-coded (RGB) or multi-channel image. '
                'A single-channel label PNG is expected, one class index per pixel (ADE20K: 0 = other, '
                f'1..{self.num_classes}); convert the colours to indices first')
        image_shape: Optional[tuple] = results.get('ori_shape') or (
            results['img'].shape[:2] if 'img' in results else None)
        if image_shape is not None and tuple(seg.shape) != tuple(image_shape[:2]):
            raise BadSampleError(f'annotation {path} is {seg.shape[0]}x{seg.shape[1]} (HxW) but its image '
                                 f'{results.get("img_path")} is {image_shape[0]}x{image_shape[1]}; they must match')
        values = np.unique(seg)
        bad = values[(values >= self.num_classes) & (values != self.ignore_index)]
        if bad.size:
            shift = ' (after reduce_zero_label: file value - 1)' if results.get('reduce_zero_label') else ''
            raise BadSampleError(
                f'annotation {path} has label value(s) {bad.tolist()[:10]}{shift} outside the {self.num_classes} '
                f'classes: allowed are 0..{self.num_classes - 1} and {self.ignore_index} (ignored)')
        return results

    def __repr__(self) -> str:
        return f'CheckSegLabels(num_classes={self.num_classes}, ignore_index={self.ignore_index})'
