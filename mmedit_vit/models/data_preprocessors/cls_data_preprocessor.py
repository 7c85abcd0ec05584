"""Batch-level preprocessing for classification: normalise, then timm's random erasing and Mixup/CutMix.

The order is timm's own training loop with its prefetcher: images arrive as uint8 tensors, are
normalised on the device, randomly erased (``timm.data.RandomErasing``, per sample) and mixed
(``timm.data.Mixup``, which also smooths the labels). Soft targets go to each sample's ``gt_score``.
"""
from typing import List, Optional, Sequence, Union

import torch
from mmengine.model import ImgDataPreprocessor
from mmengine.registry import MODELS
from timm.data import Mixup
from timm.data.random_erasing import RandomErasing

from ...datasets.normalization import IMAGENET_MEAN, IMAGENET_STD
from ...utils.arg_checks import check_bool, check_floats, check_int


def check_labels(labels: torch.Tensor, num_classes: Optional[int]) -> None:
    """Refuses class ids outside ``[0, num_classes)``; call it on host tensors (a device tensor would
    make the host wait for the device at every step)."""
    if num_classes is None or not labels.numel():
        return
    values = labels.numpy()  # host memory, read without a dispatched op (and refused for a device tensor)
    low, high = int(values.min()), int(values.max())
    if low < 0 or high >= num_classes:
        bad = low if low < 0 else high
        raise ValueError(f'label {bad} outside [0, {num_classes}): the dataset has more classes than the head '
                         f'(num_classes={num_classes})')


def host_labels(samples: Sequence) -> List[torch.Tensor]:
    """The ``gt_label`` tensors of ``samples`` that are still on the host (as the data loader gives them)."""
    return [s.gt_label.view(-1) for s in samples if 'gt_label' in s and s.gt_label.device.type == 'cpu']


@MODELS.register_module()
class ClsDataPreprocessor(ImgDataPreprocessor):
    """Stacks and normalises images; in training also applies random erasing and Mixup/CutMix.

    Args:
        mean, std: per-channel statistics on the 0-255 scale (ImageNet's by default).
        num_classes: classes of the soft targets Mixup builds (the classifier fills it in).
        mixup: keyword arguments of ``timm.data.Mixup`` (``mixup_alpha``, ``cutmix_alpha``,
            ``label_smoothing``, ``prob``, ``switch_prob``, ``mode``), or None for no mixing.
        random_erasing: keyword arguments of ``timm.data.RandomErasing`` (``probability``, ``mode``,
            ``max_count``, ...), or None.
    """

    def __init__(self,
                 mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD,
                 num_classes: Optional[int] = None,
                 mixup: Optional[dict] = None,
                 random_erasing: Optional[dict] = None,
                 pad_size_divisor: int = 1,
                 non_blocking: bool = False) -> None:
        check_floats('mean', mean)
        check_floats('std', std, min=0, min_open=True)
        check_int('num_classes', num_classes, min=1, optional=True)
        check_int('pad_size_divisor', pad_size_divisor, min=1)
        check_bool('non_blocking', non_blocking)
        super().__init__(mean=mean, std=std, pad_size_divisor=pad_size_divisor, non_blocking=non_blocking)
        self.num_classes = num_classes
        self.mixup = None
        if mixup is not None:
            if not num_classes:
                raise ValueError('ClsDataPreprocessor: mixup needs num_classes (the classifier sets it from '
                                 'its head); got num_classes=None')
            mixup = dict(mixup)
            if mixup.setdefault('num_classes', num_classes) != num_classes:
                raise ValueError(f"mixup num_classes={mixup['num_classes']} differs from the classifier's "
                                 f'{num_classes}')
            self.mixup = Mixup(**mixup)
        self.random_erasing = None
        if random_erasing is not None:
            options = dict(random_erasing)
            options.setdefault('device', 'cpu')
            self.random_erasing = RandomErasing(**options)

    def forward(self, data: dict, training: bool = False) -> Union[dict, list]:
        """Label ids are checked here, on the host, before the batch moves to the device."""
        samples = data.get('data_samples') if isinstance(data, dict) else None
        labels = host_labels(samples or [])
        if labels:
            check_labels(torch.cat(labels), self.num_classes)
        data = super().forward(data, training)
        if not training:
            return data
        inputs, samples = data['inputs'], data['data_samples']
        if self.random_erasing is not None:
            self.random_erasing.device = inputs.device
            inputs = self.random_erasing(inputs)
        if self.mixup is not None:
            if inputs.shape[0] % 2:
                raise ValueError(f'Mixup/CutMix needs an even batch, got {inputs.shape[0]}: use an even '
                                 'batch_size and drop_last=True in the train dataloader')
            labels = torch.stack([s.gt_label for s in samples]).to(inputs.device).view(-1)
            inputs, targets = self.mixup(inputs, labels)
            for sample, target in zip(samples, targets):
                sample.gt_score = target
        data['inputs'] = inputs
        return data
