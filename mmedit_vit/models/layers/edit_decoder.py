"""The EDIT decoder layer: [CLS] refined by single-head cross-attention, one instance for all depths."""
from typing import List, Sequence, Tuple, Type

import torch
from timm.layers import LayerNorm
from torch import nn

from .cls_chain import ClsChain
from .probe import MapProbe


class EDITDecoderLayer(nn.Module):
    """cls_i = LN(cls_{i-1} + CA(q=cls_{i-1}, kv=[z_i, cls_{i-1}])), with z_i the encoder tokens of layer i.

    Single head over the full width; keys and values are projected from the normed source tokens
    (``kv``: the 2·d² extra parameters and 2·N·d² extra multiply-adds per depth of the EDIT paper's
    Table 1). The query is the previous [CLS] itself, already layer-normed by the previous step.

    [CLS] never enters the encoder, so the decoder runs once after it (``forward``) over the tokens of
    every depth: the weights are shared across depths, so the source norm and K/V projection of all
    depths' tokens are one LayerNorm and one GEMM. Only the [CLS] row is sequential: per depth, its own
    key and value (a one-token product), its logits against the depth's keys with its self-logit
    appended (the tokens are never copied next to [CLS]), the softmax, the weighted sum and the norm.
    """

    def __init__(self, dim: int, qkv_bias: bool = True, norm_layer: Type[nn.Module] = LayerNorm) -> None:
        super().__init__()
        self.scale = dim ** -0.5
        self.norm_src = norm_layer(dim)
        self.kv = nn.Linear(dim, 2 * dim, bias=qkv_bias)
        self.norm = norm_layer(dim)
        self.expose_maps = False
        self.attn_probe = MapProbe()
        self.value_probe = MapProbe()  # with expose_maps: the step's values [V_tokens; v_cls] (B, N + 1, d)

    def forward(self, cls: torch.Tensor, tokens: Sequence[torch.Tensor]) -> List[torch.Tensor]:
        """cls: (B, 1, d) initial [CLS]; tokens: the (B, N, d) encoder outputs of depths 1..D.

        Returns the D refined [CLS] tokens, (B, 1, d) each.
        """
        # (D, B, N, 2d): one norm and one GEMM over all depths (the stacked copy replaces the per-depth
        # concatenated copy the norm would otherwise save for backward)
        k_all, v_all = self.kv(self.norm_src(torch.stack(list(tokens)))).chunk(2, dim=-1)
        k_all = k_all.transpose(-2, -1)  # (D, B, d, N): each depth's keys ready for q @ K^T
        if self._chain_applies():
            return list(self._chain(cls, k_all, v_all))
        outs = []
        for k, v in zip(k_all.unbind(0), v_all.unbind(0)):
            cls = self.step(cls, k, v)
            outs.append(cls)
        return outs

    def _chain_applies(self) -> bool:
        """``ClsChain`` computes LayerNorms with weight and bias and a biased K/V projection. The maps are
        exposed through the per-step path; a traced model (FLOP analysis, export) records it, so its operators
        are those the analysers know; ``torch.compile`` traces it and fuses the chain itself."""
        if torch.jit.is_tracing() or torch.compiler.is_compiling():
            return False
        norms = (self.norm_src, self.norm)
        return (not self.expose_maps and self.kv.bias is not None
                and all(isinstance(m, nn.LayerNorm) and m.weight is not None and m.bias is not None for m in norms))

    def _chain(self, cls: torch.Tensor, k_t: torch.Tensor, v: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        params = (self.norm_src.weight, self.norm_src.bias, self.kv.weight, self.kv.bias, self.norm.weight,
                  self.norm.bias)
        device = cls.device.type
        # the one-query chain runs in float32 under autocast, as the norms would
        if torch.amp.is_autocast_available(device) and torch.is_autocast_enabled(device):
            with torch.autocast(device, enabled=False):
                return ClsChain.apply(cls.float(), k_t.float(), v.float(), *params, self.norm_src.eps, self.norm.eps)
        return ClsChain.apply(cls, k_t, v, *params, self.norm_src.eps, self.norm.eps)

    def step(self, cls: torch.Tensor, k_t: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """One depth: cls (B, 1, d), the depth's transposed token keys k_t (B, d, N) and values v (B, N, d)."""
        k_self, v_self = self.kv(self.norm_src(cls)).chunk(2, dim=-1)
        q = cls * self.scale
        # logits over [tokens; cls]: the self-logit is appended to the N token logits, not the key to the keys
        logits = torch.cat([q @ k_t, (q * k_self).sum(-1, keepdim=True)], dim=-1)
        attn = logits.softmax(dim=-1)
        if self.expose_maps:
            attn = self.attn_probe(attn)
            self.value_probe(torch.cat([v, v_self], dim=1))
        n = k_t.shape[-1]
        out = torch.baddbmm(attn[..., n:] * v_self, attn[..., :n], v)
        return self.norm(cls + out)
