"""ViTDet's simple feature pyramid: strides 4-32 (and 64) from the last map of a plain ViT (stride 16).

Li et al., "Exploring Plain Vision Transformer Backbones for Object Detection" (ECCV 2022), Sec. 3 and Fig. 2:
the pyramid is built from the last block's map alone, by deconvolution (x4: two 2x2 stride-2 deconvolutions
with LN and GELU between; x2: one), the map itself (x1) and 2x2 max-pooling (x0.5); every scale then has a
1x1 and a 3x3 convolution, each followed by LN, to ``out_channels``; P6 is P5 sub-sampled (a 1x1 max-pool of
stride 2, as detectron2's ``LastLevelMaxPool`` and mmdet's FPN). Layer for layer detectron2's
``SimpleFeaturePyramid`` and mmdet's ``projects/ViTDet`` ``SimpleFPN`` (not in the installed package).
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_norm_layer
from mmengine.model import BaseModule
from mmengine.registry import MODELS
from torch import Tensor, nn

from ...utils.arg_checks import check_int, check_ints

SCALES = (4.0, 2.0, 1.0, 0.5)  # of the input map; strides 4, 8, 16, 32 from a stride-16 ViT


def _rescale_branch(channels: int, scale: float, norm_cfg: dict) -> nn.Sequential:
    """The resampling part of one scale (before its 1x1 / 3x3 convolutions)."""
    if scale == 4.0:
        return nn.Sequential(
            nn.ConvTranspose2d(channels, channels // 2, kernel_size=2, stride=2),
            build_norm_layer(norm_cfg, channels // 2)[1],
            nn.GELU(),
            nn.ConvTranspose2d(channels // 2, channels // 4, kernel_size=2, stride=2))
    if scale == 2.0:
        return nn.Sequential(nn.ConvTranspose2d(channels, channels // 2, kernel_size=2, stride=2))
    if scale == 1.0:
        return nn.Sequential(nn.Identity())
    return nn.Sequential(nn.MaxPool2d(kernel_size=2, stride=2))


@MODELS.register_module()
class SimpleFPN(BaseModule):
    """ViTDet's simple feature pyramid on the last backbone map.

    Args:
        backbone_channel: width of the backbone map (768 for ViT-B).
        in_channels: widths after the x4, x2, x1, x0.5 resampling; must be
            ``[c // 4, c // 2, c, c]`` for ``c = backbone_channel`` (mmdet's argument, kept for its configs).
        out_channels: width of every pyramid level (256).
        num_outs: levels returned: the four scales, then max-pooled extra levels (5: P2-P6).
        conv_cfg / norm_cfg / act_cfg: of the 1x1 and 3x3 convolutions (mmcv ``ConvModule``; a norm turns
            their bias off); ``norm_cfg`` also normalises between the two x4 deconvolutions.
    """

    def __init__(self,
                 backbone_channel: int,
                 in_channels: Sequence[int] = (192, 384, 768, 768),
                 out_channels: int = 256,
                 num_outs: int = 5,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        check_int('backbone_channel', backbone_channel, min=4)
        check_ints('in_channels', in_channels, min=1, length=len(SCALES))
        check_int('out_channels', out_channels, min=1)
        check_int('num_outs', num_outs, min=len(SCALES))
        super().__init__(init_cfg=init_cfg)
        if backbone_channel % 4:
            raise ValueError(f'backbone_channel={backbone_channel} must be divisible by 4: the x4 branch halves '
                             'it twice')
        expected = [backbone_channel // 4, backbone_channel // 2, backbone_channel, backbone_channel]
        if list(in_channels) != expected:
            raise ValueError(f'in_channels={list(in_channels)} does not match backbone_channel={backbone_channel}: '
                             f'the x4, x2, x1, x0.5 branches give {expected}')
        if norm_cfg is None:
            raise ValueError("norm_cfg is needed between the two x4 deconvolutions: ViTDet uses "
                             "dict(type='LN2d')")
        self.backbone_channel = backbone_channel
        self.in_channels = list(in_channels)
        self.out_channels = out_channels
        self.num_outs = num_outs
        self.rescales = nn.ModuleList([_rescale_branch(backbone_channel, s, norm_cfg) for s in SCALES])
        self.lateral_convs = nn.ModuleList([
            ConvModule(c, out_channels, 1, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg, inplace=False)
            for c in self.in_channels])
        self.fpn_convs = nn.ModuleList([
            ConvModule(out_channels, out_channels, 3, padding=1, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                       act_cfg=act_cfg, inplace=False)
            for _ in self.in_channels])

    def forward(self, inputs: Union[Tensor, Sequence[Tensor]]) -> Tuple[Tensor, ...]:
        """``inputs``: the backbone's map, alone or as the one-element tuple a backbone returns."""
        if not isinstance(inputs, Tensor):
            if len(inputs) != 1:
                raise ValueError(f'SimpleFPN reads one backbone map (the last block\'s), got {len(inputs)}; '
                                 'set the backbone\'s out_indices=(-1,)')
            inputs = inputs[0]
        if inputs.shape[1] != self.backbone_channel:
            raise ValueError(f'the backbone map has {inputs.shape[1]} channels, backbone_channel is '
                             f'{self.backbone_channel}')
        outs = [fpn(lateral(rescale(inputs)))
                for rescale, lateral, fpn in zip(self.rescales, self.lateral_convs, self.fpn_convs)]
        for _ in range(self.num_outs - len(outs)):
            outs.append(F.max_pool2d(outs[-1], kernel_size=1, stride=2))
        return tuple(outs)
