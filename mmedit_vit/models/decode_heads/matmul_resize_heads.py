"""mmseg's Segmenter, UperNet and FCN heads with the training loss computed on logits resized by GEMMs.

mmseg's ``BaseDecodeHead.loss_by_feat`` brings the logits to the label size with ``F.interpolate``; on a GPU
its backward is an atomic scatter-add that dominates a Segmenter step (150 classes, 32x32 -> 512x512,
256 outputs per source pixel). ``bilinear_resize`` gives the same values (float32) with a GEMM backward.
Its ``acc_seg`` indexes with a boolean mask, which makes the host wait for the GPU in the middle of every
step; ``pixel_accuracy`` computes the same number on the device. Parameters, state-dict keys, inference and
the loss definition are mmseg's.
"""
from typing import Dict

import torch
from mmengine.registry import MODELS
from mmseg.models.decode_heads import FCNHead, SegmenterMaskTransformerHead, UPerHead
from mmseg.utils import SampleList
from torch import Tensor, nn

from ..layers.bilinear_resize import bilinear_resize


def pixel_accuracy(seg_logits: Tensor, seg_label: Tensor, ignore_index: int) -> Tensor:
    """mmseg's top-1 ``accuracy``: 100 * (correct + eps) / (labelled pixels + eps), shape (1,), with no
    host-device synchronisation (no boolean-mask indexing, no ``numel`` of a masked tensor)."""
    eps = torch.finfo(torch.float32).eps
    labelled = seg_label != ignore_index
    correct = (seg_logits.argmax(dim=1) == seg_label) & labelled
    return ((correct.sum().float() + eps) * 100.0 / (labelled.sum().float() + eps)).reshape(1)


class MatmulResizeLossMixin:
    """``loss_by_feat`` of mmseg's ``BaseDecodeHead`` (sampler, every ``loss_decode``, ``acc_seg``) with
    ``bilinear_resize`` in place of ``F.interpolate`` (the logits reach the losses in float32) and
    ``pixel_accuracy`` in place of mmseg's ``accuracy``."""

    def loss_by_feat(self, seg_logits: Tensor, batch_data_samples: SampleList) -> Dict[str, Tensor]:
        seg_label = self._stack_batch_gt(batch_data_samples)
        seg_logits = bilinear_resize(seg_logits, seg_label.shape[2:], self.align_corners)
        seg_weight = self.sampler.sample(seg_logits, seg_label) if self.sampler is not None else None
        seg_label = seg_label.squeeze(1)
        losses_decode = self.loss_decode if isinstance(self.loss_decode, nn.ModuleList) else [self.loss_decode]
        loss: Dict[str, Tensor] = {}
        for loss_decode in losses_decode:
            name = loss_decode.loss_name
            value = loss_decode(seg_logits, seg_label, weight=seg_weight, ignore_index=self.ignore_index)
            loss[name] = loss[name] + value if name in loss else value
        loss['acc_seg'] = pixel_accuracy(seg_logits, seg_label, self.ignore_index)
        return loss


@MODELS.register_module()
class MatmulResizeSegmenterMaskTransformerHead(MatmulResizeLossMixin, SegmenterMaskTransformerHead):
    """mmseg's ``SegmenterMaskTransformerHead``, loss on GEMM-resized logits."""


@MODELS.register_module()
class MatmulResizeUPerHead(MatmulResizeLossMixin, UPerHead):
    """mmseg's ``UPerHead``, loss on GEMM-resized logits."""


@MODELS.register_module()
class MatmulResizeFCNHead(MatmulResizeLossMixin, FCNHead):
    """mmseg's ``FCNHead`` (UperNet's auxiliary head), loss on GEMM-resized logits."""
