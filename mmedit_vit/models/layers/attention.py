"""Multi-head self-attention with an optional sigmoid gate, windows and relative position biases;
drop-in for timm's ``Attention``."""
from typing import Optional, Tuple, Type

import torch
import torch.nn.functional as F
from torch import nn

from .attention_gate import GATE_MODES, GATE_POSITIONS, AttentionGate
from .probe import MapProbe
from .windows import dense_window_map, from_windows, rel_pos_bias, same_size, to_windows, valid_keys, window_valid_keys

# where [CLS] / register tokens take part in a windowed block (see ``Attention``)
PREFIX_IN_WINDOWS = ('every_window', 'global_blocks')


class Attention(nn.Module):
    """Self-attention using fused ``scaled_dot_product_attention``.

    ``gate`` ('none' | 'elementwise': one score per channel | 'headwise': one per head) multiplies either
    the SDPA output before the output projection (``gate_position='sdpa'``) or the values after their
    projection (``'value'``).
    Parameter names follow timm (``qkv``, ``proj``, ``gate``) so timm checkpoints load unchanged.

    ViTDet / SAM options (``forward`` then needs the patch ``grid`` and the number of prefix tokens
    ahead of the patches): ``window_size`` > 0 attends within window_size x window_size windows of a
    grid of whole windows (the caller pads; keys outside ``valid_grid`` are masked, so padding never
    reaches a real token); ``rel_pos_size`` = (S_h, S_w) adds decomposed relative position biases
    with tables ``rel_pos_h`` (2 S_h - 1, head_dim) and ``rel_pos_w``, zero-initialised and interpolated
    to the grid at run time. Prefix tokens ([CLS], registers) in a windowed block:
    ``prefix_in_windows='every_window'``: they are keys and values of every window and attend to the
    whole image; ``'global_blocks'``: patches attend within their window only and the prefix tokens
    among themselves, meeting the patches in global blocks.
    While ``expose_maps`` is set, the attention probabilities are computed explicitly and passed
    through ``attn_probe``, and the values the heads mix (B, heads, N, head_dim; after a value gate, over the
    padded sequence of a windowed block) through ``value_probe`` (see ``capture_maps``); otherwise the fused
    kernel runs.
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
            window_size: int = 0,
            rel_pos_size: Optional[Tuple[int, int]] = None,
            prefix_in_windows: str = 'every_window',
    ) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f'dim={dim} is not divisible by num_heads={num_heads}')
        if gate not in GATE_MODES:
            raise ValueError(f'gate={gate!r} is not supported; choose one of {GATE_MODES}')
        if gate_position not in GATE_POSITIONS:
            raise ValueError(f'gate_position={gate_position!r} is not supported; choose one of {GATE_POSITIONS}')
        if prefix_in_windows not in PREFIX_IN_WINDOWS:
            raise ValueError(f'prefix_in_windows={prefix_in_windows!r} is not supported; choose one of '
                             f'{PREFIX_IN_WINDOWS}')
        if not isinstance(window_size, int) or window_size < 0:
            raise ValueError(f'window_size={window_size!r} must be a non-negative integer (0: global attention)')
        if (qk_norm or scale_norm) and norm_layer is None:
            raise ValueError('qk_norm and scale_norm need a norm_layer')
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.gate_position = gate_position
        self.window_size = window_size
        self.prefix_in_windows = prefix_in_windows

        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.q_norm = norm_layer(self.head_dim) if qk_norm else nn.Identity()
        self.k_norm = norm_layer(self.head_dim) if qk_norm else nn.Identity()
        self.attn_drop = nn.Dropout(attn_drop)
        self.gate = AttentionGate(dim, num_heads, gate) if gate != 'none' else None
        self.norm = norm_layer(dim) if scale_norm else nn.Identity()
        self.proj = nn.Linear(dim, dim, bias=proj_bias)
        self.proj_drop = nn.Dropout(proj_drop)
        if rel_pos_size is not None:
            self.rel_pos_h = nn.Parameter(torch.zeros(2 * rel_pos_size[0] - 1, self.head_dim))
            self.rel_pos_w = nn.Parameter(torch.zeros(2 * rel_pos_size[1] - 1, self.head_dim))
        else:
            self.rel_pos_h = self.rel_pos_w = None
        self.expose_maps = False
        self.attn_probe = MapProbe()
        self.value_probe = MapProbe()

    @property
    def needs_grid(self) -> bool:
        """Whether ``forward`` needs the patch grid: windows or relative position biases."""
        return self.window_size > 0 or self.rel_pos_h is not None

    def forward(
            self,
            x: torch.Tensor,
            attn_mask: Optional[torch.Tensor] = None,
            is_causal: bool = False,
            grid: Optional[Tuple[int, int]] = None,
            num_prefix_tokens: int = 0,
            valid_grid: Optional[Tuple[int, int]] = None,
    ) -> torch.Tensor:
        """x: (B, N, C). With windows / relative positions, ``N = num_prefix_tokens + grid[0] * grid[1]``;
        a windowed grid is a whole number of windows, of which only ``valid_grid`` (default: all) is real."""
        B, N, C = x.shape
        if self.needs_grid:
            if grid is None or num_prefix_tokens + grid[0] * grid[1] != N:
                raise ValueError(f'{N} tokens do not match num_prefix_tokens={num_prefix_tokens} + grid={grid}: '
                                 'windowed / relative-position attention needs the patch grid')
            if attn_mask is not None or is_causal:
                raise ValueError('attn_mask / is_causal cannot be combined with windows or relative positions')
        gate = self.gate(x) if self.gate is not None else None
        q, k, v = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4).unbind(0)
        q, k = self.q_norm(q), self.k_norm(k)
        if gate is not None and self.gate_position == 'value':
            v = v * gate.transpose(1, 2)
        if self.expose_maps:
            self.value_probe(v)

        if self.window_size:
            x = self._windowed(q, k, v, tuple(grid), num_prefix_tokens, tuple(valid_grid or grid))
        else:
            if self.rel_pos_h is not None:
                P = num_prefix_tokens
                bias = rel_pos_bias(q[:, :, P:], self.rel_pos_h, self.rel_pos_w, grid)
                attn_mask = F.pad(bias, (P, 0, P, 0)) if P else bias  # no bias to or from [CLS] / registers
            x, attn = self._attend(q, k, v, attn_mask, is_causal)
            if attn is not None:
                self.attn_probe(attn)
            x = x.transpose(1, 2)
        if gate is not None and self.gate_position == 'sdpa':
            x = x * gate
        x = self.norm(x.reshape(B, N, C))
        return self.proj_drop(self.proj(x))

    def _windowed(self, q, k, v, grid, P: int, valid_grid) -> torch.Tensor:
        """Attention within windows; returns (B, N, heads, head_dim) in token order."""
        ws = self.window_size
        if grid[0] % ws or grid[1] % ws:
            raise ValueError(f'grid={grid} is not a whole number of {ws}x{ws} windows; pad it first')
        B = q.shape[0]
        qw, kw, vw = (to_windows(t[:, :, P:], grid, ws) for t in (q, k, v))
        bias = rel_pos_bias(qw, self.rel_pos_h, self.rel_pos_w, (ws, ws)) if self.rel_pos_h is not None else None
        padded = not same_size(*zip(grid, valid_grid))  # traced: the mask is kept (all True where nothing is)
        if padded:
            real = window_valid_keys(grid, valid_grid, ws, q.device)
            key_bias = q.new_zeros(real.shape).masked_fill(~real, float('-inf')).repeat(B, 1)[:, None, None]
            bias = key_bias if bias is None else bias + key_bias
        shared_prefix = P and self.prefix_in_windows == 'every_window'
        if shared_prefix:
            windows = qw.shape[0] // B
            kw, vw = (torch.cat([t[:, :, :P].unsqueeze(1).expand(-1, windows, -1, -1, -1).flatten(0, 1), tw], dim=2)
                      for t, tw in ((k, kw), (v, vw)))
            if bias is not None:
                bias = F.pad(bias, (P, 0))
        out_w, attn_w = self._attend(qw, kw, vw, bias)
        out = from_windows(out_w, grid, ws)
        attn_p = None
        if P:
            if shared_prefix:  # prefix queries see every real token
                keep = (F.pad(valid_keys(grid, valid_grid, q.device), (P, 0), value=True).view(1, 1, 1, -1)
                        if padded else None)
                out_p, attn_p = self._attend(q[:, :, :P], k, v, keep)
            else:
                out_p, attn_p = self._attend(q[:, :, :P], k[:, :, :P], v[:, :, :P])
                if attn_w is not None:
                    attn_p = F.pad(attn_p, (0, grid[0] * grid[1]))
            out = torch.cat([out_p.transpose(1, 2), out], dim=1)
        if attn_w is not None:
            if attn_p is None:
                attn_p = attn_w.new_zeros(B, attn_w.shape[1], 0, grid[0] * grid[1])
            self.attn_probe(dense_window_map(attn_w, attn_p, P, grid, valid_grid, ws))
        return out

    def _attend(self, q, k, v, attn_mask=None, is_causal: bool = False):
        """The fused kernel; with ``expose_maps``, the same attention computed explicitly, its probabilities
        returned (else None) for the caller to pass through ``attn_probe``. An ONNX export records the explicit
        form too: torch.export gives the fused kernel's output strides its decomposition does not keep, and the
        graph of windowed attention fails to build for a symbolic batch."""
        if not (self.expose_maps or torch.onnx.is_in_onnx_export()):
            return F.scaled_dot_product_attention(
                q, k, v, attn_mask=attn_mask, is_causal=is_causal,
                dropout_p=self.attn_drop.p if self.training else 0.), None
        logits = (q * self.scale) @ k.transpose(-2, -1)
        if is_causal:
            n_q, n_k = logits.shape[-2:]
            causal = torch.ones(n_q, n_k, dtype=torch.bool, device=q.device).tril()
            logits = logits.masked_fill(~causal, float('-inf'))
        if attn_mask is not None:
            logits = (logits.masked_fill(~attn_mask, float('-inf')) if attn_mask.dtype == torch.bool
                      else logits + attn_mask)
        attn = logits.softmax(dim=-1)
        return self.attn_drop(attn) @ v, attn if self.expose_maps else None
