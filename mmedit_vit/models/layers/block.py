"""Pre-norm transformer block with LayerScale and drop path; attention and MLP are arguments.

Same parameter names as timm's ``Block`` (norm1, attn, ls1, norm2, mlp, ls2), so timm weights load
directly; unlike timm's, it takes configured attention / MLP constructors (e.g. a gated attention).
"""
from typing import Callable, Optional, Tuple

import torch
from timm.layers import DropPath, LayerNorm, LayerScale, Mlp
from torch import nn

from .attention import Attention
from .windows import crop_windows_padding, pad_to_windows


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

    def forward(self, x: torch.Tensor, grid: Optional[Tuple[int, int]] = None,
                num_prefix_tokens: int = 0) -> torch.Tensor:
        """x: (B, N, C); ``grid`` and ``num_prefix_tokens`` (the patch grid behind the prefix tokens) are
        needed by windowed / relative-position attention only."""
        x = x + self.drop_path1(self.ls1(self._attention(self.norm1(x), grid, num_prefix_tokens)))
        return x + self.drop_path2(self.ls2(self.mlp(self.norm2(x))))

    def _attention(self, x: torch.Tensor, grid: Optional[Tuple[int, int]], num_prefix_tokens: int) -> torch.Tensor:
        """ViTDet's order: the normed tokens are padded to whole windows, attend, and the padding is cropped."""
        if not getattr(self.attn, 'needs_grid', False):
            return self.attn(x)
        window_size = self.attn.window_size
        if not window_size:
            return self.attn(x, grid=grid, num_prefix_tokens=num_prefix_tokens)
        if grid is None:
            raise ValueError('a windowed block needs the patch grid: call it with grid=(H, W)')
        padded_x, padded = pad_to_windows(x, grid, num_prefix_tokens, window_size)
        out = self.attn(padded_x, grid=padded, num_prefix_tokens=num_prefix_tokens, valid_grid=grid)
        return crop_windows_padding(out, padded, grid, num_prefix_tokens)
