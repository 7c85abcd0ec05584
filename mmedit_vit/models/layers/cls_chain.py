"""EDIT's [CLS] chain over all depths as one autograd node, with a hand-written backward.

The D decoder steps depend on each other only through [CLS]: cls_i = LN(r_i), r_i = cls_{i-1} + softmax(
q_i [K_i; k_i]^T) [V_i; v_i] with q_i = cls_{i-1} / sqrt(d) and [k_i, v_i] = W_kv LN_src(cls_{i-1}) + b_kv. Through
autograd every step records a dozen nodes, and each use of a shared weight adds a gradient accumulation. Here the
backward runs the chain once in reverse with only what depends on the carried gradient; the weights' gradients
and those of the token keys and values are batched over the depths after it (one GEMM or one norm backward
each). The token keys and values come in precomputed for all depths (one GEMM, outside).
"""
from typing import List, Tuple

import torch
from torch.autograd.function import once_differentiable

aten = torch.ops.aten


def _ln_backward(grad: torch.Tensor, x: torch.Tensor, mean: torch.Tensor, rstd: torch.Tensor, weight: torch.Tensor,
                 bias: torch.Tensor, mask: Tuple[bool, bool, bool]) -> List[torch.Tensor]:
    return aten.native_layer_norm_backward(grad, x, [x.shape[-1]], mean, rstd, weight, bias, list(mask))


class ClsChain(torch.autograd.Function):
    """Inputs: cls (B, 1, d); k_t (D, B, d, N), the depths' token keys, transposed; v (D, B, N, d); the source
    norm's, K/V projection's and output norm's parameters; the two norms' eps. Outputs: D tensors (B, 1, d)."""

    @staticmethod
    def forward(ctx, cls, k_t, v, src_w, src_b, kv_w, kv_b, out_w, out_b, src_eps: float, out_eps: float):
        batch, _, dim = cls.shape
        n = k_t.shape[-1]
        kv_w_t = kv_w.t().expand(batch, dim, 2 * dim)
        inputs, steps = [cls], []
        for k_i, v_i in zip(k_t.unbind(0), v.unbind(0)):
            h, mean_s, rstd_s = aten.native_layer_norm(cls, [dim], src_w, src_b, src_eps)
            k_s, v_s = torch.baddbmm(kv_b, h, kv_w_t).split(dim, dim=-1)  # [CLS]'s own key and value
            q = cls * dim ** -0.5
            attn = torch.cat([torch.bmm(q, k_i), (q * k_s).sum(-1, keepdim=True)], dim=-1).softmax(dim=-1)
            a_t, a_s = attn.split([n, 1], dim=-1)
            r = torch.baddbmm(torch.addcmul(cls, a_s, v_s), a_t, v_i)
            cls, mean, rstd = aten.native_layer_norm(r, [dim], out_w, out_b, out_eps)
            steps.append((h, mean_s, rstd_s, k_s, v_s, q, attn, a_s, r, mean, rstd))
            inputs.append(cls)
        # inputs and outputs go through save_for_backward (no reference cycle through ctx, version checks,
        # checkpointing sees them); the intermediates stay on ctx
        ctx.save_for_backward(k_t, v, src_w, src_b, kv_w, out_w, out_b, *inputs[:-1])
        ctx.steps = steps
        ctx.set_materialize_grads(False)  # depths whose [CLS] no loss reads get None, not zeros
        return tuple(inputs[1:])

    @staticmethod
    @once_differentiable
    def backward(ctx, *grads):
        k_t, v, src_w, src_b, kv_w, out_w, out_b, *step_inputs = ctx.saved_tensors
        steps = ctx.steps
        batch, _, dim = step_inputs[0].shape
        n = k_t.shape[-1]
        kv_w_b = kv_w.expand(batch, 2 * dim, dim)
        keys, values_t = k_t.transpose(-2, -1).unbind(0), v.transpose(-2, -1).unbind(0)
        g = None  # the gradient reaching cls_i: from the outputs and from step i + 1
        g_out, d_r, d_logits_t, d_h, d_kv = [], [], [], [], []
        for i in reversed(range(len(steps))):
            h, mean_s, rstd_s, k_s, v_s, q, attn, a_s, r, mean, rstd = steps[i]
            g = grads[i] if g is None else g if grads[i] is None else grads[i] + g
            if g is None:  # nothing reads this depth's [CLS] or a later one
                g = torch.zeros_like(step_inputs[i])
            dr = _ln_backward(g, r, mean, rstd, out_w, out_b, (True, False, False))[0]
            d_attn = torch.cat([torch.bmm(dr, values_t[i]), (dr * v_s).sum(-1, keepdim=True)], dim=-1)
            dl_t, dl_s = torch._softmax_backward_data(d_attn, attn, -1, attn.dtype).split([n, 1], dim=-1)
            dq = torch.baddbmm(dl_s * k_s, dl_t, keys[i])
            dkv = torch.cat([dl_s * q, a_s * dr], dim=-1)  # [CLS]'s own key and value
            dh = torch.bmm(dkv, kv_w_b)
            d_src = _ln_backward(dh, step_inputs[i], mean_s, rstd_s, src_w, src_b, (True, False, False))[0]
            g_out.append(g), d_r.append(dr), d_logits_t.append(dl_t), d_h.append(dh), d_kv.append(dkv)
            g = torch.add(dr + d_src, dq, alpha=dim ** -0.5)

        def by_depth(items: list) -> torch.Tensor:  # collected in reverse above
            return torch.stack(items[::-1])

        def saved(index: int) -> torch.Tensor:
            return torch.stack([step[index] for step in steps])

        _, d_out_w, d_out_b = _ln_backward(by_depth(g_out), saved(8), saved(9), saved(10), out_w, out_b,
                                           (False, True, True))
        _, d_src_w, d_src_b = _ln_backward(by_depth(d_h), torch.stack(step_inputs), saved(1), saved(2), src_w, src_b,
                                           (False, True, True))
        dkv_all = by_depth(d_kv).reshape(-1, 2 * dim)
        d_kv_w = dkv_all.t() @ saved(0).reshape(-1, dim)
        d_kv_b = dkv_all.sum(0)
        d_k_t = saved(5).transpose(-2, -1) @ by_depth(d_logits_t)  # (D, B, d, 1) @ (D, B, 1, N)
        d_v = saved(6)[..., :n].transpose(-2, -1) @ by_depth(d_r)  # (D, B, N, 1) @ (D, B, 1, d)
        return g, d_k_t, d_v, d_src_w, d_src_b, d_kv_w, d_kv_b, d_out_w, d_out_b, None, None
