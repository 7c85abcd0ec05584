"""One probed forward pass of the running backbone: attention, gate scores, decoder attention, token norms,
outlier statistics, and (on request) every block's internals.

Maps and values come from the model's own ``MapProbe`` modules (``capture_maps``); token norms, outlier
statistics and block inputs / outputs from forward hooks on its blocks and MLP activations. Nothing is
copied: the backbone is switched to eval mode and made to run all blocks for the one pass (EDIT: with its
[CLS] output on, so that the decoder runs), then restored.
"""
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import torch
from torch import nn

from ..models.layers.probe import capture_maps
from .outlier_stats import max_abs, mean_kurtosis
from .sink_metrics import token_norms


@dataclass
class BackboneCapture:
    """What one forward pass exposed, per block (index = depth).

    attentions: (B, heads, N, N) self-attention probabilities of each block.
    gates: (B, N, heads, 1 | head_dim) gate scores of each block, or None without a gate.
    decoder: (B, 1, N + 1) EDIT decoder attention per depth (keys: the block's N tokens, then the
        previous [CLS]); empty for models without the decoder.
    norms: (B, N) L2 norms of each block's output tokens.
    input_norms: (B, N) L2 norms of each block's input tokens (those its attention reads).
    cbs_scales: the CB_s Lambda of each block, or None where the block has no CB_s.
    kurtosis / block_max_abs / mlp_max_abs: 0-d tensors per block (``outlier_stats``): the mean token kurtosis
        and max |x| of its output, max |x| of its MLP hidden activations (None without an ``mlp.act``).
    internals: with ``capture_backbone(..., internals=True)`` only (else None): per block ``inputs`` /
        ``outputs`` (B, N, C) and ``values`` (B, heads, N', head_dim) as the attention mixes them (N' > N
        where a windowed block pads the grid); for EDIT ``decoder_values`` (B, N + 1, d) per depth
        and the initial [CLS] ``decoder_input`` (B, 1, d).
    """
    attentions: List[torch.Tensor]
    gates: List[Optional[torch.Tensor]]
    decoder: List[torch.Tensor]
    norms: List[torch.Tensor]
    cbs_scales: List[Optional[torch.Tensor]]
    grid: Tuple[int, int]
    cls_in_sequence: bool
    num_registers: int
    input_norms: List[torch.Tensor] = field(default_factory=list)
    window_size: int = 0  # windowed attention (ViTDet): the window side in patches; 0: every block global
    windowed_blocks: List[int] = field(default_factory=list)
    kurtosis: List[torch.Tensor] = field(default_factory=list)
    block_max_abs: List[torch.Tensor] = field(default_factory=list)
    mlp_max_abs: List[Optional[torch.Tensor]] = field(default_factory=list)
    internals: Optional[dict] = None
    num_prefix_tokens: int = field(init=False)

    def __post_init__(self) -> None:
        self.num_prefix_tokens = int(self.cls_in_sequence) + self.num_registers

    @property
    def depth(self) -> int:
        return len(self.attentions)

    @property
    def register_start(self) -> int:
        return int(self.cls_in_sequence)


def _check_backbone(backbone: nn.Module) -> None:
    needed = ('blocks', 'num_prefix_tokens', 'num_registers', 'patch_size', 'out_indices')
    missing = [a for a in needed if not hasattr(backbone, a)]
    if missing:
        raise TypeError(f'{type(backbone).__name__} is not a PlainViT-family backbone (lacks {missing}); '
                        'the sink probes read PlainViT / GatedViT / CBViT / EDITViT')


def _cbs_scale(block: nn.Module) -> Optional[torch.Tensor]:
    cb = getattr(block.mlp, 'cb', None)
    scale = getattr(cb, 'scale', None)
    return scale.detach().clone() if scale is not None else None


def capture_backbone(backbone: nn.Module, images: torch.Tensor, internals: bool = False) -> BackboneCapture:
    """Runs ``backbone`` once on ``images`` (normalised NCHW) with every probe on; returns the maps.

    ``internals`` also keeps every block's input, output and values (and EDIT's decoder steps) for the
    per-head sink statistics and the rebuild check (``block_internals``)."""
    _check_backbone(backbone)
    depth = len(backbone.blocks)
    norms: List[Optional[torch.Tensor]] = [None] * depth
    input_norms: List[Optional[torch.Tensor]] = [None] * depth
    kurtosis: List[Optional[torch.Tensor]] = [None] * depth
    block_max: List[Optional[torch.Tensor]] = [None] * depth
    mlp_max: List[Optional[torch.Tensor]] = [None] * depth
    kept = dict(inputs=[None] * depth, outputs=[None] * depth) if internals else None

    def after_block(i: int, out: torch.Tensor) -> None:
        out = out.detach()
        norms[i], kurtosis[i], block_max[i] = token_norms(out), mean_kurtosis(out), max_abs(out)
        if kept is not None:
            kept['outputs'][i] = out

    def before_block(i: int, x: torch.Tensor) -> None:
        input_norms[i] = token_norms(x.detach())
        if kept is not None:
            kept['inputs'][i] = x.detach()

    handles = [block.register_forward_hook(lambda _, __, out, i=i: after_block(i, out))
               for i, block in enumerate(backbone.blocks)]
    handles += [block.register_forward_pre_hook(lambda _, args, i=i: before_block(i, args[0]))
                for i, block in enumerate(backbone.blocks)]
    handles += [block.mlp.act.register_forward_hook(lambda _, __, out, i=i: mlp_max.__setitem__(i, max_abs(out)))
                for i, block in enumerate(backbone.blocks) if isinstance(getattr(block.mlp, 'act', None), nn.Module)]
    decoder = getattr(backbone, 'decoder', None)
    if kept is not None and decoder is not None:
        handles.append(decoder.register_forward_pre_hook(
            lambda _, args: kept.__setitem__('decoder_input', args[0].detach())))
    saved = dict(out_indices=backbone.out_indices, out_cls_token=getattr(backbone, 'out_cls_token', False))
    was_training = backbone.training
    backbone.out_indices = [depth - 1]  # run every block
    if decoder is not None:
        backbone.out_cls_token = True  # EDIT runs its decoder only when the [CLS] output is read
    backbone.eval()
    try:
        with torch.no_grad(), capture_maps(backbone) as maps:
            backbone(images)
    finally:
        for name, value in saved.items():
            setattr(backbone, name, value)
        backbone.train(was_training)
        for h in handles:
            h.remove()

    attentions = [maps[f'blocks.{i}.attn.attn_probe'][0] for i in range(depth)]
    gates = [maps.get(f'blocks.{i}.attn.gate.score_probe', [None])[0] for i in range(depth)]
    if kept is not None:
        kept['values'] = [maps[f'blocks.{i}.attn.value_probe'][0] for i in range(depth)]
        if decoder is not None:
            kept['decoder_values'] = maps['decoder.value_probe']
    cls_in_sequence = backbone.num_prefix_tokens > backbone.num_registers
    patch = backbone.patch_size
    grid = (-(-images.shape[-2] // patch), -(-images.shape[-1] // patch))
    return BackboneCapture(
        attentions=attentions, gates=gates, decoder=maps.get('decoder.attn_probe', []), norms=norms,
        cbs_scales=[_cbs_scale(block) for block in backbone.blocks], grid=grid,
        cls_in_sequence=cls_in_sequence, num_registers=backbone.num_registers, input_norms=input_norms,
        window_size=getattr(backbone, 'window_size', 0), windowed_blocks=list(getattr(backbone, 'windowed_blocks', [])),
        kurtosis=kurtosis, block_max_abs=block_max, mlp_max_abs=mlp_max, internals=kept)
