"""Classification data pipeline: PIL loading, timm's ImageNet transforms, packing for the classifier.

``TimmTransform`` builds ``timm.data.create_transform`` with the prefetcher layout (uint8 CHW tensor
out): normalisation, random erasing and Mixup/CutMix run on whole batches in ``ClsDataPreprocessor``.
``crop='src'`` is DeiT-III's "simple random crop" (resize, random crop with 4-px reflect padding)
for the recipes without random-resized crop; 3-Augment is timm's ``auto_augment='3a'``.
"""
import os
from typing import Optional, Sequence, Union

import torch
from mmengine.registry import TRANSFORMS
from mmengine.structures import BaseDataElement
from PIL import Image
from timm.data import create_transform
from torchvision import transforms

from ...utils.arg_checks import check_bool, check_int, check_ints

CROPS = ('rrc', 'src')


@TRANSFORMS.register_module()
class LoadPILImage:
    """Reads ``results['img_path']`` into an RGB PIL image at ``results['img']``."""

    def __call__(self, results: dict) -> dict:
        path = results['img_path']
        try:
            with open(path, 'rb') as f:
                img = Image.open(f)
                img = img.convert('RGB')
        except (OSError, SyntaxError, ValueError) as err:  # PIL's UnidentifiedImageError is an OSError
            size = os.path.getsize(path) if os.path.isfile(path) else None
            what = 'is empty (0 bytes)' if size == 0 else f'cannot be read as an image ({err})'
            raise ValueError(f'image file {path} {what}; replace or remove it') from None
        results['img'] = img
        results['ori_shape'] = (img.height, img.width)
        return results


@TRANSFORMS.register_module()
class TimmTransform:
    """``timm.data.create_transform(input_size, is_training, **kwargs)`` on ``results['img']``.

    Args:
        input_size: output side (int) or (H, W).
        is_training: training (random crop, flips, auto-augment) or evaluation (resize + center crop
            with ``crop_pct``) transform.
        crop: training crop, 'rrc' (random resized crop) or 'src' (DeiT-III simple random crop).
        **kwargs: other ``create_transform`` arguments (``auto_augment``, ``color_jitter``, ``hflip``,
            ``interpolation``, ``crop_pct``, ``scale``, ...).
    """

    def __init__(self, input_size: Union[int, Sequence[int]] = 224, is_training: bool = False, crop: str = 'rrc',
                 **kwargs) -> None:
        check_ints('input_size', input_size, min=1, scalar_ok=True, empty_ok=False)
        check_bool('is_training', is_training)
        if crop not in CROPS:
            raise ValueError(f'crop={crop!r} is not supported; choose one of {CROPS}')
        for key in ('use_prefetcher', 're_prob', 'mean', 'std', 'separate'):
            if key in kwargs:
                raise ValueError(f'TimmTransform: {key} is handled by ClsDataPreprocessor (normalisation, '
                                 'random erasing); remove it from the pipeline')
        self.input_size = input_size
        self.crop = crop
        if is_training and crop == 'src':
            _, secondary, final = create_transform(input_size, is_training=True, use_prefetcher=True,
                                                   separate=True, **kwargs)
            size = input_size if isinstance(input_size, int) else tuple(input_size)
            primary = [transforms.Resize(size, interpolation=transforms.InterpolationMode.BICUBIC),
                       transforms.RandomCrop(size, padding=4, padding_mode='reflect')]
            if kwargs.get('hflip', 0.5) > 0:
                primary.append(transforms.RandomHorizontalFlip(p=kwargs.get('hflip', 0.5)))
            self.transform = transforms.Compose(primary + list(secondary.transforms) + list(final.transforms))
        else:
            self.transform = create_transform(input_size, is_training=is_training, use_prefetcher=True, **kwargs)

    def __call__(self, results: dict) -> dict:
        img = self.transform(results['img'])
        if not isinstance(img, torch.Tensor):
            img = torch.as_tensor(img)
        results['img'] = img
        results['img_shape'] = tuple(img.shape[-2:])
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(crop={self.crop}, transform={self.transform})'


@TRANSFORMS.register_module()
class ReleasedImageToTensor:
    """A released ImageNet-C image as the uint8 CHW tensor: the reference evaluation's ``CenterCrop(size)``
    (a no-op on its 224-px images) and ``ToTensor``, no resize; normalisation runs in ``ClsDataPreprocessor``.
    An image smaller than ``size`` is an error (the reference would pad it with zeros)."""

    def __init__(self, size: int = 224) -> None:
        check_int('size', size, min=1)
        self.size = size
        self.transform = transforms.Compose([transforms.CenterCrop(size), transforms.PILToTensor()])

    def __call__(self, results: dict) -> dict:
        img = results['img']
        if min(img.size) < self.size:
            raise ValueError(f"image file {results.get('img_path')} is {img.width}x{img.height}; released "
                             f'ImageNet-C images are {self.size}x{self.size}')
        results['img'] = self.transform(img)
        results['img_shape'] = tuple(results['img'].shape[-2:])
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(size={self.size})'


@TRANSFORMS.register_module()
class PackClsInputs:
    """``{'inputs': uint8 CHW tensor, 'data_samples': BaseDataElement(gt_label=LongTensor[1])}``."""

    META_KEYS = ('img_path', 'ori_shape', 'img_shape')

    def __call__(self, results: dict) -> dict:
        img = results['img']
        if not isinstance(img, torch.Tensor) or img.ndim != 3:
            raise TypeError(f'PackClsInputs expects a CHW tensor from TimmTransform, got {type(img).__name__}')
        sample = BaseDataElement(metainfo={k: results[k] for k in self.META_KEYS if k in results})
        label: Optional[int] = results.get('gt_label')
        if label is not None:
            sample.gt_label = torch.tensor([int(label)], dtype=torch.long)
        return dict(inputs=img, data_samples=sample)
