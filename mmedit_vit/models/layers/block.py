"""Pre-norm transformer block with LayerScale and drop path; attention and MLP are arguments.

Same parameter names as timm's ``Block`` (norm1, attn, ls1, norm2, mlp, ls2), so timm weights load
directly; unlike timm's, it takes configured attention / MLP constructors (e.g. a gated attention).
"""
from typing import Callable, Optional

import torch
from timm.layers import DropPath, LayerNorm, LayerScale, Mlp
from torch import nn

from .attention import Attention


class Block(nn.Module):
    """x <- x + DropPath(LS1(Attn(LN1(x)))); x <- x + DropPath(LS2(MLP(LN2(x))))."""

    def __init__(
            self,
            dim: int,
            num_heads: int,
            mlp_ratio: float = 4.,
            qkv_bias: bool = True,
            proj_drop: float = 0.,
            attn_drop: float = 0.,
            layer_scale_init: Optional[float] = None,
            drop_path: float = 0.,
            norm_layer: Callable[[int], nn.Module] = LayerNorm,
            attn_layer: Callable[..., nn.Module] = Attention,
            mlp_layer: Callable[..., nn.Module] = Mlp,
    ) -> None:
        super().__init__()
        self.norm1 = norm_layer(dim)
        self.attn = attn_layer(dim, num_heads=num_heads, qkv_bias=qkv_bias, attn_drop=attn_drop, proj_drop=proj_drop)
        self.ls1 = LayerScale(dim, init_values=layer_scale_init) if layer_scale_init else nn.Identity()
        self.drop_path1 = DropPath(drop_path) if drop_path > 0. else nn.Identity()
        self.norm2 = norm_layer(dim)
        self.mlp = mlp_layer(in_features=dim, hidden_features=int(dim * mlp_ratio), drop=proj_drop)
        self.ls2 = LayerScale(dim, init_values=layer_scale_init) if layer_scale_init else nn.Identity()
        self.drop_path2 = DropPath(drop_path) if drop_path > 0. else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path1(self.ls1(self.attn(self.norm1(x))))
        return x + self.drop_path2(self.ls2(self.mlp(self.norm2(x))))
