"""mmseg's Segmenter, UperNet and FCN heads with the training loss computed on logits resized by GEMMs.

mmseg's ``BaseDecodeHead.loss_by_feat`` brings the logits to the label size with ``F.interpolate``; on a GPU
its backward is an atomic scatter-add that dominates a Segmenter step (150 classes, 32x32 -> 512x512,
256 outputs per source pixel). ``bilinear_resize`` gives the same values (float32) with a GEMM backward.
Its ``acc_seg`` indexes with a boolean mask, which makes the host wait for the GPU in the middle of every
step; ``pixel_accuracy`` computes the same number on the device. Parameters, state-dict keys, inference and
the loss definition are mmseg's.
"""
from functools import partial
from typing import Dict

import torch
from mmengine.registry import MODELS
from mmseg.models.decode_heads import FCNHead, SegmenterMaskTransformerHead, UPerHead
from mmseg.utils import SampleList
from torch import Tensor, nn

from ...utils.arg_checks import check_arguments, check_bool, check_float, check_int, check_ints
from ..layers.bilinear_resize import bilinear_resize

_RATE = partial(check_float, min=0, max=1, max_open=True)
_COUNT = partial(check_int, min=1)
# the numeric and boolean arguments of the three heads and of mmseg's BaseDecodeHead
HEAD_ARGUMENT_CHECKS = {
    'in_channels': partial(check_ints, min=1, scalar_ok=True, empty_ok=False), 'channels': _COUNT,
    'num_classes': _COUNT, 'out_channels': partial(check_int, min=1, optional=True),
    'threshold': partial(check_float, optional=True), 'dropout_ratio': _RATE,
    'in_index': partial(check_ints, scalar_ok=True, empty_ok=False), 'ignore_index': check_int,
    'align_corners': check_bool,
    # Segmenter's mask transformer
    'num_layers': _COUNT, 'num_heads': _COUNT, 'embed_dims': _COUNT, 'num_fcs': _COUNT, 'qkv_bias': check_bool,
    'mlp_ratio': partial(check_float, min=0, min_open=True), 'drop_path_rate': _RATE, 'drop_rate': _RATE,
    'attn_drop_rate': _RATE, 'init_std': partial(check_float, min=0, min_open=True),
    # UPerHead, FCNHead
    'pool_scales': partial(check_ints, min=1, empty_ok=False), 'num_convs': partial(check_int, min=0),
    'kernel_size': _COUNT, 'concat_input': check_bool, 'dilation': _COUNT,
}


def pixel_accuracy(seg_logits: Tensor, seg_label: Tensor, ignore_index: int) -> Tensor:
    """mmseg's top-1 ``accuracy``: 100 * (correct + eps) / (labelled pixels + eps), shape (1,), with no
    host-device synchronisation (no boolean-mask indexing, no ``numel`` of a masked tensor)."""
    eps = torch.finfo(torch.float32).eps
    labelled = seg_label != ignore_index
    correct = (seg_logits.argmax(dim=1) == seg_label) & labelled
    return ((correct.sum().float() + eps) * 100.0 / (labelled.sum().float() + eps)).reshape(1)


class HeadArgumentChecks:
    """Checks the numeric and boolean arguments of mmseg's heads (``HEAD_ARGUMENT_CHECKS``) before building."""

    def __init__(self, *args, **kwargs) -> None:
        check_arguments(super().__init__, args, kwargs, HEAD_ARGUMENT_CHECKS)
        super().__init__(*args, **kwargs)


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
class MatmulResizeSegmenterMaskTransformerHead(HeadArgumentChecks, MatmulResizeLossMixin, SegmenterMaskTransformerHead):
    """mmseg's ``SegmenterMaskTransformerHead``, loss on GEMM-resized logits."""


@MODELS.register_module()
class MatmulResizeUPerHead(HeadArgumentChecks, MatmulResizeLossMixin, UPerHead):
    """mmseg's ``UPerHead``, loss on GEMM-resized logits."""


@MODELS.register_module()
class MatmulResizeFCNHead(HeadArgumentChecks, MatmulResizeLossMixin, FCNHead):
    """mmseg's ``FCNHead`` (UperNet's auxiliary head), loss on GEMM-resized logits."""
