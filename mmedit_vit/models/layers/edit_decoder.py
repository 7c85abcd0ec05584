"""The EDIT decoder layer: [CLS] refined by single-head cross-attention, one instance for all depths."""
from typing import Type

import torch
import torch.nn.functional as F
from timm.layers import LayerNorm
from torch import nn

from .probe import MapProbe


class EDITDecoderLayer(nn.Module):
    """cls_i = LN(cls_{i-1} + CA(q=cls_{i-1}, kv=[z_i, cls_{i-1}])), with z_i the encoder tokens of layer i.

    Single head over the full width; keys and values are projected from the normed source tokens
    (``kv``: the 2·d² extra parameters and 2·N·d² extra multiply-adds per depth of the EDIT paper's
    Table 1). The query is the previous [CLS] itself, already layer-normed by the previous step.
    """

    def __init__(self, dim: int, qkv_bias: bool = True, norm_layer: Type[nn.Module] = LayerNorm) -> None:
        super().__init__()
        self.scale = dim ** -0.5
        self.norm_src = norm_layer(dim)
        self.kv = nn.Linear(dim, 2 * dim, bias=qkv_bias)
        self.norm = norm_layer(dim)
        self.expose_maps = False
        self.attn_probe = MapProbe()

    def forward(self, cls: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """cls: (B, 1, d) previous [CLS]; tokens: (B, N, d) encoder output of this depth."""
        k, v = self.kv(self.norm_src(torch.cat([tokens, cls], dim=1))).chunk(2, dim=-1)
        if self.expose_maps:
            attn = self.attn_probe(((cls * self.scale) @ k.transpose(-2, -1)).softmax(dim=-1))
            out = attn @ v
        else:
            out = F.scaled_dot_product_attention(cls, k, v)
        return self.norm(cls + out)
