"""Multi-head self-attention with an optional sigmoid gate, drop-in for timm's ``Attention``."""
from typing import Optional, Type

import torch
import torch.nn.functional as F
from torch import nn

from .attention_gate import GATE_MODES, GATE_POSITIONS, AttentionGate
from .probe import MapProbe


class Attention(nn.Module):
    """Self-attention using fused ``scaled_dot_product_attention``.

    ``gate`` ('none' | 'elementwise': one score per channel | 'headwise': one per head) multiplies either
    the SDPA output before the output projection (``gate_position='sdpa'``) or the values after their
    projection (``'value'``).
    Parameter names follow timm (``qkv``, ``proj``, ``gate``) so timm checkpoints load unchanged.
    While ``expose_maps`` is set, the attention probabilities are computed explicitly and passed
    through ``attn_probe`` (see ``capture_maps``); otherwise the fused kernel runs.
    """

    def __init__(
            self,
            dim: int,
            num_heads: int = 8,
            qkv_bias: bool = False,
            qk_norm: bool = False,
            scale_norm: bool = False,
            proj_bias: bool = True,
            attn_drop: float = 0.,
            proj_drop: float = 0.,
            norm_layer: Optional[Type[nn.Module]] = None,
            gate: str = 'none',
            gate_position: str = 'sdpa',
    ) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f'dim={dim} is not divisible by num_heads={num_heads}')
        if gate not in GATE_MODES:
            raise ValueError(f'gate={gate!r} is not supported; choose one of {GATE_MODES}')
        if gate_position not in GATE_POSITIONS:
            raise ValueError(f'gate_position={gate_position!r} is not supported; choose one of {GATE_POSITIONS}')
        if (qk_norm or scale_norm) and norm_layer is None:
            raise ValueError('qk_norm and scale_norm need a norm_layer')
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.gate_position = gate_position

        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.q_norm = norm_layer(self.head_dim) if qk_norm else nn.Identity()
        self.k_norm = norm_layer(self.head_dim) if qk_norm else nn.Identity()
        self.attn_drop = nn.Dropout(attn_drop)
        self.gate = AttentionGate(dim, num_heads, gate) if gate != 'none' else None
        self.norm = norm_layer(dim) if scale_norm else nn.Identity()
        self.proj = nn.Linear(dim, dim, bias=proj_bias)
        self.proj_drop = nn.Dropout(proj_drop)
        self.expose_maps = False
        self.attn_probe = MapProbe()

    def forward(
            self,
            x: torch.Tensor,
            attn_mask: Optional[torch.Tensor] = None,
            is_causal: bool = False,
    ) -> torch.Tensor:
        B, N, C = x.shape
        gate = self.gate(x) if self.gate is not None else None
        q, k, v = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4).unbind(0)
        q, k = self.q_norm(q), self.k_norm(k)
        if gate is not None and self.gate_position == 'value':
            v = v * gate.transpose(1, 2)

        if self.expose_maps:
            x = self._explicit_attention(q, k, v, attn_mask, is_causal)
        else:
            x = F.scaled_dot_product_attention(
                q, k, v, attn_mask=attn_mask, is_causal=is_causal,
                dropout_p=self.attn_drop.p if self.training else 0.)
        x = x.transpose(1, 2)
        if gate is not None and self.gate_position == 'sdpa':
            x = x * gate
        x = self.norm(x.reshape(B, N, C))
        return self.proj_drop(self.proj(x))

    def _explicit_attention(self, q, k, v, attn_mask, is_causal) -> torch.Tensor:
        """The same attention as the fused kernel, with the probabilities exposed to ``attn_probe``."""
        logits = (q * self.scale) @ k.transpose(-2, -1)
        if is_causal:
            n_q, n_k = logits.shape[-2:]
            causal = torch.ones(n_q, n_k, dtype=torch.bool, device=q.device).tril()
            logits = logits.masked_fill(~causal, float('-inf'))
        if attn_mask is not None:
            logits = (logits.masked_fill(~attn_mask, float('-inf')) if attn_mask.dtype == torch.bool
                      else logits + attn_mask)
        attn = self.attn_probe(logits.softmax(dim=-1))
        return self.attn_drop(attn) @ v
