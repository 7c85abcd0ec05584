"""Parameter and FLOP counts (multiply-adds, as timm/fvcore count them) with mmengine's analyser.

mmengine's ``FlopAnalyzer`` has no handle for the fused ``scaled_dot_product_attention``, so the two
attention matrix products (QK^T and AV) would silently count as zero; ``sdpa_flop_jit`` adds them.
"""
import math
from typing import Any, List, Tuple, Union

import torch
from mmengine.analysis import FlopAnalyzer
from mmengine.analysis.jit_handles import get_shape
from torch import nn


def sdpa_flop_jit(inputs: List[Any], outputs: List[Any]) -> int:
    """Multiply-adds of softmax(QK^T)V: Nq·Nk·E for the scores plus Nq·Nk·Ev for the weighted sum."""
    q, k, v = (get_shape(x) for x in inputs[:3])
    batch = math.prod(q[:-2])
    return batch * q[-2] * k[-2] * (q[-1] + v[-1])


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_flops(model: nn.Module, img_size: Union[int, Tuple[int, int]] = 224, in_channels: int = 3) -> int:
    """Multiply-adds of one forward pass of a single image, attention products included."""
    h, w = (img_size, img_size) if isinstance(img_size, int) else img_size
    was_training = model.training
    model.eval()
    analyzer = FlopAnalyzer(model, torch.zeros(1, in_channels, h, w))
    analyzer.set_op_handle('aten::scaled_dot_product_attention', sdpa_flop_jit)
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    analyzer.tracer_warnings('none')
    try:
        return int(analyzer.total())
    finally:
        model.train(was_training)


class LinearClassifier(nn.Module):
    """A backbone with a linear head on its [CLS] embedding (or pooled patches without [CLS]).

    Used to count classifiers the way the papers' tables do (1000 ImageNet classes).
    """

    def __init__(self, backbone: nn.Module, num_classes: int = 1000) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(backbone.embed_dims, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.backbone(x)[-1]
        feat = out[1] if isinstance(out, tuple) else out.mean(dim=(2, 3))
        return self.head(feat)
