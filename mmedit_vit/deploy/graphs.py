"""The inference graph of each task model, as the module an ONNX export traces.

The graph starts after the config's data preprocessor (normalised float32 RGB, ``input``: (B, 3, H, W)) and
ends where the task's own post-processing begins, so that an exported file slots into the config's test loop:

- classifier (``ImageClassifier``): ``logits`` (B, num_classes), the pre-softmax scores of ``mode='tensor'``;
- segmentor (mmseg ``EncoderDecoder``, Segmenter and UperNet): ``seg_logits`` (B, classes, H, W), the decode
  head's logits resized to the input as whole-image inference does (mmseg's ``encode_decode``);
- detector (mmdet two-stage, Mask R-CNN and ViTDet): ``feat0`` ... ``featK``, the backbone + neck pyramid
  ((B, C, H / s, W / s) per level); the heads (proposals, RoI ops, NMS) stay in PyTorch.
"""
from typing import List, Tuple

import torch
import torch.nn.functional as F
from torch import nn

INPUT_NAME = 'input'
CLASSIFIER_OUTPUT = 'logits'
SEGMENTOR_OUTPUT = 'seg_logits'
TASKS = ('classifier', 'segmentor', 'detector')


def task_of(model: nn.Module) -> str:
    """'classifier' | 'segmentor' | 'detector' for a model built from a config of this project."""
    from ..models.classifiers import ImageClassifier
    if isinstance(model, ImageClassifier):
        return 'classifier'
    try:
        from mmseg.models.segmentors import EncoderDecoder
        if isinstance(model, EncoderDecoder):
            return 'segmentor'
    except ImportError:
        pass
    try:
        from mmdet.models.detectors import TwoStageDetector
        if isinstance(model, TwoStageDetector):
            return 'detector'
    except ImportError:
        pass
    raise TypeError(f'{type(model).__name__} has no export graph: exportable are ImageClassifier, mmseg '
                    'EncoderDecoder (Segmenter, UperNet) and mmdet two-stage detectors (Mask R-CNN, ViTDet)')


class ClassifierGraph(nn.Module):
    """Normalised image -> logits."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.model(inputs, mode='tensor')


class SegmentorGraph(nn.Module):
    """Normalised image -> per-pixel logits at the input size (mmseg's whole-image ``encode_decode``)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        head = self.model.decode_head
        logits = head(self.model.extract_feat(inputs))
        return F.interpolate(logits, size=inputs.shape[2:], mode='bilinear', align_corners=head.align_corners)


class DetectorFeatureGraph(nn.Module):
    """Normalised image -> the backbone + neck feature pyramid."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, inputs: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        return tuple(self.model.extract_feat(inputs))


GRAPHS = {'classifier': ClassifierGraph, 'segmentor': SegmentorGraph, 'detector': DetectorFeatureGraph}


def export_graph(model: nn.Module) -> Tuple[nn.Module, str]:
    """(the module to export, its task) for a task model built from a config."""
    task = task_of(model)
    return GRAPHS[task](model).eval(), task


def output_names(task: str, num_outputs: int) -> List[str]:
    """The graph's output names: ``logits``, ``seg_logits`` or ``feat0`` ... ``feat{num_outputs - 1}``."""
    if task == 'classifier':
        return [CLASSIFIER_OUTPUT]
    if task == 'segmentor':
        return [SEGMENTOR_OUTPUT]
    return [f'feat{i}' for i in range(num_outputs)]
