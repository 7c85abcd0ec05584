"""Per-layer sink statistics of one ``BackboneCapture``: the lists that metrics.json and the hook record.

Only the metrics that apply to the model are present: [CLS] measures need [CLS] in the sequence,
register shares need registers, gate statistics a gate, CB_s statistics a CB_s layer (None in the
other layers), decoder measures EDIT's decoder, per-window sink measures windowed attention (ViTDet).
Outlier statistics (``outlier_stats``) apply to every model: ``kurtosis`` (residual stream, mean over tokens),
``block_max_abs``, ``mlp_max_abs`` and ``rel_high_norm_fraction`` (patch tokens above ``norm_ratio`` x their
image's median patch norm; ``high_norm_fraction`` keeps the absolute ``norm_threshold``).
"""
from typing import Dict, List, Optional

import torch

from . import sink_metrics as sm
from .outlier_stats import DEFAULT_NORM_RATIO, relative_high_norm_fraction
from .probes import BackboneCapture
from .window_sinks import received_in_window, window_sink_stats


def patch_norms(cap: BackboneCapture, layer: int) -> torch.Tensor:
    """(B, H*W) norms of the patch tokens output by ``layer``."""
    return cap.norms[layer][:, cap.num_prefix_tokens:]


def layer_statistics(cap: BackboneCapture, norm_threshold: float = sm.REGISTERS_PAPER_NORM_THRESHOLD,
                     gate_threshold: float = sm.DEFAULT_GATE_THRESHOLD,
                     norm_ratio: float = DEFAULT_NORM_RATIO) -> Dict[str, List[Optional[float]]]:
    """Every applicable metric as a list over depth (see ``sink_metrics`` for the definitions)."""
    stats: Dict[str, List[Optional[float]]] = {}

    def add(key: str, value) -> None:
        stats.setdefault(key, []).append(value)

    prefix, regs = cap.num_prefix_tokens, cap.num_registers
    for i in range(cap.depth):
        attn = cap.attentions[i]
        mean, p15 = sm.entropy_stats(attn)
        add('entropy_mean', mean)
        add('entropy_p15', p15)
        add('relative_distance', sm.relative_attention_distance(attn, cap.grid, patch_start=prefix)
            if cap.grid[0] * cap.grid[1] > 1 else None)  # undefined for a single patch
        if cap.cls_in_sequence:
            add('cls_attention_ratio', sm.cls_attention_ratio(attn, 0, patch_start=prefix))
            add('cls_attention_share', sm.cls_attention_share(attn, 0))
            add('cls_norm', cap.norms[i][:, 0].double().mean().item())
        if regs:
            add('register_attention_share', sm.register_attention_share(attn, cap.register_start, regs))
            add('register_norm', cap.norms[i][:, cap.register_start:prefix].double().mean().item())
        for key, value in sm.norm_summary(patch_norms(cap, i), norm_threshold).items():
            add(key, value)
        add('rel_high_norm_fraction', relative_high_norm_fraction(cap.norms[i], prefix, norm_ratio).item())
        if cap.kurtosis:
            add('kurtosis', cap.kurtosis[i].item())
            add('block_max_abs', cap.block_max_abs[i].item())
            add('mlp_max_abs', None if cap.mlp_max_abs[i] is None else cap.mlp_max_abs[i].item())
        if cap.gates[i] is not None:
            score, sparsity = sm.gate_stats(cap.gates[i], gate_threshold)
            add('gate_score_mean', score)
            add('gate_sparsity', sparsity)
        if cap.decoder:
            dec = cap.decoder[i].unsqueeze(1)  # (B, 1 head, 1 query, N + 1 keys)
            add('decoder_cls_attention_ratio', sm.cls_attention_ratio(dec, -1, patch_start=regs,
                                                                     patch_end=dec.shape[-1] - 1))
            add('decoder_entropy', sm.entropy_stats(dec)[0])
            if regs:
                add('decoder_register_attention_share', sm.register_attention_share(dec, 0, regs))
        if cap.window_size:
            for key, value in window_sink_stats(attn, cap.input_norms[i], cap.grid, cap.window_size, prefix,
                                                norm_threshold).items():
                add(key, value)
    if any(s is not None for s in cap.cbs_scales):
        for scale in cap.cbs_scales:
            mean, ratio = sm.cbs_scale_stats(scale) if scale is not None else (None, None)
            add('cbs_scale_mean', mean)
            add('cbs_scale_ratio', ratio)
    return stats


def summarize(stats: Dict[str, List[Optional[float]]]) -> Dict[str, float]:
    """One number per metric (mean over the layers that have it), for logs and scalar backends."""
    out = {}
    for key, values in stats.items():
        present = [v for v in values if v is not None]
        if present:
            out[key] = sum(present) / len(present)
    return out


def norm_histograms(cap: BackboneCapture, bins: int = 50) -> Dict[str, list]:
    """Patch-token norm histograms of every layer on shared bins from 0 to the largest norm."""
    top = max(float(patch_norms(cap, i).max()) for i in range(cap.depth))
    edges = torch.linspace(0, max(top, 1e-6), bins + 1, dtype=torch.float64)
    counts = [torch.histogram(patch_norms(cap, i).double().flatten(), bins=edges).hist.long().tolist()
              for i in range(cap.depth)]
    return dict(bin_edges=edges.tolist(), counts=counts)


def attention_maps(cap: BackboneCapture) -> Optional[List[torch.Tensor]]:
    """(B, H, W) attention of the [CLS] query over the patches per layer, averaged over heads.

    EDIT: its decoder's attention (its Fig. 5); others: the [CLS] row of self-attention (EDIT Fig. 1b's
    view); None for models without [CLS].
    """
    b = cap.attentions[0].shape[0]
    if cap.decoder:
        return [d[:, 0, cap.num_registers:-1].reshape(b, *cap.grid) for d in cap.decoder]
    if not cap.cls_in_sequence:
        return None
    return [a[:, :, 0, cap.num_prefix_tokens:].mean(1).reshape(b, *cap.grid) for a in cap.attentions]


def window_maps(cap: BackboneCapture) -> List[torch.Tensor]:
    """(B, H, W) attention each patch receives from its own window's queries, per block (``window_sinks``)."""
    b = cap.attentions[0].shape[0]
    return [received_in_window(a, cap.grid, cap.window_size, cap.num_prefix_tokens).reshape(b, *cap.grid)
            for a in cap.attentions]
