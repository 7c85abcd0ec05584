"""The ViT backbone family: DeiT-III baseline, registers, gated attention, Context Broadcasting, EDIT.

One class; each paper's change is a constructor argument. ``GatedViT``, ``CBViT`` and ``EDITViT`` are
the same class with that paper's defaults, registered under their own names for configs.
"""
import warnings
from functools import partial
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.utils.checkpoint
from mmengine.model import BaseModule
from mmengine.registry import MODELS
from timm.layers import LayerNorm, Mlp, PatchEmbed, calculate_drop_path_rates, resample_abs_pos_embed, trunc_normal_
from timm.models.vision_transformer import init_weights_vit_timm
from torch import nn

from ...converters import load_pretrained
from ...utils.arg_checks import check_bool, check_choice, check_float, check_int, check_ints
from ..layers import Attention, Block, BroadcastMlp, EDITDecoderLayer
from ..layers.attention import PREFIX_IN_WINDOWS
from ..layers.context_broadcast import CB_MODES, CLS_CB_MODES

ARCH_SETTINGS: Dict[str, Dict[str, Union[int, float]]] = {
    'tiny': dict(embed_dims=192, num_heads=3, depth=12, mlp_ratio=4.0),
    'small': dict(embed_dims=384, num_heads=6, depth=12, mlp_ratio=4.0),
    'base': dict(embed_dims=768, num_heads=12, depth=12, mlp_ratio=4.0),
}
ARCH_ALIASES = {'t': 'tiny', 's': 'small', 'b': 'base'}
# 'linear': timm / DeiT ramp from 0 to drop_path_rate; 'uniform': the same rate in every block (DeiT-III)
DROP_PATH_SCHEDULES = ('linear', 'uniform')


def resolve_arch(arch: Union[str, dict]) -> Dict[str, Union[int, float]]:
    """Returns the width/heads/depth/mlp_ratio of a named size or checks an explicit dict."""
    if isinstance(arch, str):
        name = ARCH_ALIASES.get(arch.lower(), arch.lower())
        if name not in ARCH_SETTINGS:
            raise ValueError(f'arch={arch!r} is not known; choose one of {sorted(ARCH_SETTINGS)} '
                             f'(or {sorted(ARCH_ALIASES)}), or give a dict with keys embed_dims, num_heads, depth')
        return dict(ARCH_SETTINGS[name])
    if isinstance(arch, dict):
        missing = {'embed_dims', 'num_heads', 'depth'} - set(arch)
        unknown = set(arch) - {'embed_dims', 'num_heads', 'depth', 'mlp_ratio'}
        if missing or unknown:
            raise ValueError(f'arch dict {arch} must have keys embed_dims, num_heads, depth (and optionally '
                             f'mlp_ratio); missing {sorted(missing)}, unknown {sorted(unknown)}')
        return dict(dict(mlp_ratio=4.0), **arch)
    raise ValueError(f'arch must be a name or a dict, got {arch!r}')


def drop_path_rates(drop_path_rate: float, depth: int, schedule: str = 'linear') -> List[float]:
    """Per-block stochastic-depth rates: timm's linear ramp or DeiT-III's constant rate."""
    if schedule not in DROP_PATH_SCHEDULES:
        raise ValueError(f'drop_path_schedule={schedule!r} is not supported; choose one of {DROP_PATH_SCHEDULES}')
    if schedule == 'uniform':
        return [float(drop_path_rate)] * depth
    return list(calculate_drop_path_rates(drop_path_rate, depth))


def _check_sizes(dim: int, num_heads: int, img_size, patch_size, in_channels) -> None:
    """Rejects sizes that would build a model which fails later with a shape error (or not at all)."""
    if not isinstance(num_heads, int) or num_heads < 1 or dim % num_heads:
        raise ValueError(f'num_heads={num_heads!r} must be a positive integer dividing embed_dims={dim}')
    if not isinstance(in_channels, int) or in_channels < 1:
        raise ValueError(f'in_channels={in_channels!r} must be a positive integer (3 for RGB)')
    patches = patch_size if isinstance(patch_size, (tuple, list)) else (patch_size, patch_size)
    if not all(isinstance(p, int) and p >= 1 for p in patches):
        raise ValueError(f'patch_size={patch_size!r} must be a positive integer (16 in DeiT-III)')
    sizes = img_size if isinstance(img_size, (tuple, list)) else (img_size, img_size)
    if len(sizes) != 2 or not all(isinstance(s, int) and s >= p for s, p in zip(sizes, patches)):
        raise ValueError(f'img_size={img_size!r} must be an integer (or pair) no smaller than patch_size='
                         f'{patch_size!r}')


def _check_indices(name: str, indices: Sequence[int], depth: int) -> List[int]:
    """Normalises negative layer indices and rejects those outside ``[-depth, depth)``."""
    out = []
    for i in indices:
        if not isinstance(i, int) or not -depth <= i < depth:
            raise ValueError(f'{name} entry {i!r} is outside the depth: allowed are integers in '
                             f'[{-depth}, {depth - 1}]')
        out.append(i % depth)
    return out


def _check_global_attn_indexes(indexes: Sequence[int], window_size: int, depth: int) -> List[int]:
    """0-based, unique block indexes; only meaningful next to windowed attention."""
    check_ints('global_attn_indexes', indexes)
    for i in indexes:
        if not 0 <= i < depth:
            raise ValueError(f'global_attn_indexes entry {i!r} is not a block: allowed are integers in '
                             f'[0, {depth - 1}]')
    repeated = sorted({i for i in indexes if list(indexes).count(i) > 1})
    if repeated:
        raise ValueError(f'global_attn_indexes={list(indexes)!r} repeats {repeated}; give each block once')
    if indexes and not window_size:
        raise ValueError(f'global_attn_indexes={list(indexes)!r} needs window_size > 0: with window_size=0 every '
                         'block is global already')
    return sorted(indexes)


def pretrained_init_cfg(pretrained: Optional[str], init_cfg: Optional[dict]) -> Optional[dict]:
    """mmseg's backbone convention: a deprecated ``pretrained`` path becomes a ``Pretrained`` init_cfg."""
    if pretrained is None:
        return init_cfg
    if not isinstance(pretrained, str):
        raise TypeError(f'pretrained={pretrained!r} must be a checkpoint path (str) or None')
    if init_cfg is not None:
        raise ValueError(f'pretrained={pretrained!r} and init_cfg={init_cfg!r} are both set; give only '
                         "init_cfg=dict(type='Pretrained', checkpoint=...)")
    warnings.warn("DeprecationWarning: pretrained is deprecated, use init_cfg=dict(type='Pretrained', "
                  'checkpoint=...) instead')
    return dict(type='Pretrained', checkpoint=pretrained)


@MODELS.register_module()
class PlainViT(BaseModule):
    """DeiT-III style ViT for OpenMMLab dense tasks; every attention-sink remedy is an argument.

    Args:
        arch: 'tiny' | 'small' | 'base' (or 't' | 's' | 'b'), or a dict with embed_dims, num_heads,
            depth and optionally mlp_ratio.
        img_size: size the position embedding is stored at; other input sizes resample it (bicubic).
        patch_size: patch size; inputs not divisible by it are padded at the bottom/right.
        with_cls_token: prepend a [CLS] token (for EDIT it stays outside the sequence).
        num_registers: learnable register tokens after [CLS] (no position embedding), never output.
        layer_scale_init: LayerScale initial value; None for no LayerScale (DeiT, AugReg ViT).
        gate: 'none' | 'elementwise' (one sigmoid score per channel, the gated proposal's
            O * sigmoid(X W + b) with W d x d) | 'headwise' (one score per head, W d x heads).
        gate_position: 'sdpa' (gate the attention output) | 'value' (gate V after its projection).
        cb_layers: indices of the blocks that end their MLP with context broadcasting.
        cb_mode: 'cb' | 'cbs' | 'cb_gate' | 'cb_hybrid' (see ``ContextBroadcast``).
        cbs_init: initial Lambda of 'cbs'.
        cls_decoder: EDIT: take [CLS] out of the sequence; a shared cross-attention decoder refines it
            after every block.
        out_indices: blocks whose outputs are returned, as NCHW maps.
        final_norm: apply the last LayerNorm to the output of the deepest block (timm's
            ``forward_features``).
        out_cls_token: return ``(map, cls)`` pairs instead of maps.
        drop_path_rate: stochastic-depth rate (of the deepest block with the linear schedule).
        drop_path_schedule: 'linear' (timm / DeiT: 0 in the first block rising to ``drop_path_rate``) or
            'uniform' (DeiT-III ``models_v2.py``: ``drop_path_rate`` in every block).
        frozen_stages: freeze the embeddings (0) and the first ``frozen_stages`` blocks; -1 freezes none.
        pretrained: deprecated path of a checkpoint, as mmseg / mmdet model configs pass it to their
            backbone (``model.pretrained``); becomes ``init_cfg=dict(type='Pretrained', checkpoint=...)``.
        with_cp: activation checkpointing (mmseg's name): in training, every block and the EDIT
            decoder keep only their inputs and recompute the rest in the backward pass; the
            gradients are those of ``with_cp=False``.
        window_size: ViTDet's windowed attention: blocks not in ``global_attn_indexes`` attend within
            window_size x window_size windows of the patch grid, padded to whole windows (the padding
            is masked and cropped, so it never changes a real token). 0: every block is global.
        global_attn_indexes: 0-based indexes of the blocks that keep global attention (ViTDet ViT-B:
            2, 5, 8, 11); only with ``window_size`` > 0.
        rel_pos: decomposed relative position biases in every block (ViTDet / SAM), tables sized for the
            window (windowed blocks) or the ``img_size`` patch grid (global blocks), zero-initialised and
            interpolated to the input at run time.
        prefix_in_windows: [CLS] / registers in windowed blocks: 'every_window' (keys and values of
            every window; they attend to the whole image) or 'global_blocks' (they meet the patches in the
            global blocks only; in windowed blocks they attend among themselves).
    """

    def __init__(
            self,
            arch: Union[str, dict] = 'small',
            img_size: Union[int, Tuple[int, int]] = 224,
            patch_size: int = 16,
            in_channels: int = 3,
            with_cls_token: bool = True,
            num_registers: int = 0,
            layer_scale_init: Optional[float] = 1e-6,
            qkv_bias: bool = True,
            gate: str = 'none',
            gate_position: str = 'sdpa',
            cb_layers: Sequence[int] = (),
            cb_mode: str = 'cb',
            cbs_init: float = 1.0,
            cls_decoder: bool = False,
            drop_rate: float = 0.,
            attn_drop_rate: float = 0.,
            drop_path_rate: float = 0.,
            drop_path_schedule: str = 'linear',
            out_indices: Union[int, Sequence[int]] = -1,
            final_norm: bool = True,
            out_cls_token: bool = False,
            frozen_stages: int = -1,
            pretrained: Optional[str] = None,
            with_cp: bool = False,
            window_size: int = 0,
            global_attn_indexes: Sequence[int] = (),
            rel_pos: bool = False,
            prefix_in_windows: str = 'every_window',
            init_cfg: Optional[dict] = None,
    ) -> None:
        settings = resolve_arch(arch)
        for name in ('embed_dims', 'num_heads', 'depth'):
            check_int(name, settings[name], min=1)
        check_float('mlp_ratio', settings['mlp_ratio'], min=0, min_open=True)
        check_ints('img_size', img_size, min=1, length=2, scalar_ok=True)
        check_ints('patch_size', patch_size, min=1, length=2, scalar_ok=True)
        check_int('in_channels', in_channels, min=1)
        check_int('num_registers', num_registers, min=0)
        check_float('layer_scale_init', layer_scale_init, min=0, min_open=True, optional=True)
        check_float('cbs_init', cbs_init)
        for name, rate in (('drop_rate', drop_rate), ('attn_drop_rate', attn_drop_rate),
                           ('drop_path_rate', drop_path_rate)):
            check_float(name, rate, min=0, max=1, max_open=True)
        check_ints('cb_layers', cb_layers)
        check_ints('out_indices', out_indices, scalar_ok=True, empty_ok=False)
        check_int('frozen_stages', frozen_stages, min=-1)
        for name, flag in (('with_cls_token', with_cls_token), ('qkv_bias', qkv_bias), ('cls_decoder', cls_decoder),
                           ('final_norm', final_norm), ('out_cls_token', out_cls_token), ('with_cp', with_cp),
                           ('rel_pos', rel_pos)):
            check_bool(name, flag)
        check_int('window_size', window_size, min=0)
        check_choice('prefix_in_windows', prefix_in_windows, PREFIX_IN_WINDOWS)
        super().__init__(init_cfg=pretrained_init_cfg(pretrained, init_cfg))
        dim, depth, num_heads = int(settings['embed_dims']), int(settings['depth']), int(settings['num_heads'])
        _check_sizes(dim, num_heads, img_size, patch_size, in_channels)
        if gate_position == 'value' and gate == 'none':
            raise ValueError("gate_position='value' needs a gate ('headwise' or 'elementwise'); with gate='none' "
                             'there is nothing to place')
        if cb_mode not in CB_MODES:  # checked here too: no CB layer may be built to check it
            raise ValueError(f'cb_mode={cb_mode!r} is not supported; choose one of {CB_MODES}')
        if cls_decoder and not with_cls_token:
            raise ValueError('cls_decoder=True (EDIT) needs with_cls_token=True: the decoder refines [CLS]')
        if out_cls_token and not with_cls_token:
            raise ValueError('out_cls_token=True needs with_cls_token=True')
        if not isinstance(frozen_stages, int) or not -1 <= frozen_stages <= depth:
            raise ValueError(f'frozen_stages={frozen_stages!r} must be an integer in [-1, {depth}]')
        self.cb_layers = sorted(set(_check_indices('cb_layers', list(cb_layers), depth)))
        if self.cb_layers and cb_mode in CLS_CB_MODES and (not with_cls_token or cls_decoder):
            raise ValueError(f'cb_mode={cb_mode!r} multiplies by the [CLS] token, which must be in the sequence '
                             '(with_cls_token=True, cls_decoder=False); use cb or cbs')
        out_indices = [out_indices] if isinstance(out_indices, int) else list(out_indices)
        if not out_indices:
            raise ValueError('out_indices must name at least one block')
        self.out_indices = _check_indices('out_indices', out_indices, depth)
        self.global_attn_indexes = _check_global_attn_indexes(global_attn_indexes, window_size, depth)
        if prefix_in_windows != 'every_window' and not window_size:
            raise ValueError(f'prefix_in_windows={prefix_in_windows!r} needs windowed attention (window_size > 0)')
        self.window_size = window_size
        self.rel_pos = rel_pos
        self.prefix_in_windows = prefix_in_windows

        self.embed_dims = dim
        self.depth = depth
        self.num_heads = num_heads
        self.patch_size = patch_size
        self.num_registers = num_registers
        self.final_norm = final_norm
        self.out_cls_token = out_cls_token
        self.frozen_stages = frozen_stages
        self.with_cp = with_cp
        # tokens ahead of the patches inside the encoder sequence
        self.num_prefix_tokens = int(with_cls_token and not cls_decoder) + num_registers

        self.patch_embed = PatchEmbed(
            img_size=img_size, patch_size=patch_size, in_chans=in_channels, embed_dim=dim,
            output_fmt='NHWC', strict_img_size=False, dynamic_img_pad=True)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim)) if with_cls_token else None
        self.reg_token = nn.Parameter(torch.zeros(1, num_registers, dim)) if num_registers else None
        self.pos_embed = nn.Parameter(torch.zeros(1, self.patch_embed.num_patches, dim))
        self.pos_drop = nn.Dropout(drop_rate)

        norm_layer = partial(LayerNorm, eps=1e-6)
        attn_layer = partial(Attention, gate=gate, gate_position=gate_position)
        cb_mlp = partial(BroadcastMlp, cb_mode=cb_mode, cbs_init=cbs_init)
        drop_paths = drop_path_rates(drop_path_rate, depth, drop_path_schedule)
        self.blocks = nn.ModuleList([
            Block(dim, num_heads, mlp_ratio=settings['mlp_ratio'], qkv_bias=qkv_bias, proj_drop=drop_rate,
                  attn_drop=attn_drop_rate, layer_scale_init=layer_scale_init, drop_path=drop_paths[i],
                  norm_layer=norm_layer, attn_layer=partial(attn_layer, **self._block_attention(i)),
                  mlp_layer=cb_mlp if i in self.cb_layers else Mlp)
            for i in range(depth)])
        self.decoder = EDITDecoderLayer(dim, qkv_bias=qkv_bias, norm_layer=norm_layer) if cls_decoder else None
        self.norm = norm_layer(dim) if final_norm else nn.Identity()
        self._init_default_weights()
        self._freeze_stages()

    def _block_attention(self, index: int) -> dict:
        """Window size and relative-position table size of block ``index``."""
        window = 0 if index in self.global_attn_indexes else self.window_size
        rel_pos_size = ((window, window) if window else self.pos_grid) if self.rel_pos else None
        return dict(window_size=window, rel_pos_size=rel_pos_size, prefix_in_windows=self.prefix_in_windows)

    @property
    def windowed_blocks(self) -> List[int]:
        """Indexes of the blocks with windowed attention."""
        return [i for i, block in enumerate(self.blocks) if block.attn.window_size]

    # ----------------------------------------------------------------------------------------- init
    def _init_default_weights(self) -> None:
        """timm's ViT initialisation: truncated normal for weights and position embedding."""
        trunc_normal_(self.pos_embed, std=.02)
        for token in (self.cls_token, self.reg_token):
            if token is not None:
                nn.init.normal_(token, std=1e-6)
        for module in self.modules():
            if module is not self:
                init_weights_vit_timm(module)

    def init_weights(self) -> None:
        """Loads ``init_cfg=dict(type='Pretrained', checkpoint=...)`` strictly, converting on the fly."""
        cfg = self.init_cfg
        items = cfg if isinstance(cfg, (list, tuple)) else [cfg]
        pretrained = [item for item in items if isinstance(item, dict) and item.get('type') == 'Pretrained']
        if not pretrained:
            super().init_weights()
            return
        if len(pretrained) > 1:
            raise ValueError(f'init_cfg has {len(pretrained)} Pretrained entries; give one checkpoint')
        others = [item for item in items if item is not pretrained[0]]
        if others:  # list form: the other initialisers first, then the strict load over them
            self.init_cfg = others
            super().init_weights()
            self.init_cfg = cfg
        load_pretrained(self, **{k: v for k, v in pretrained[0].items() if k != 'type'})
        self._is_init = True

    # -------------------------------------------------------------------------------------- forward
    @property
    def pos_grid(self) -> Tuple[int, int]:
        return tuple(self.patch_embed.grid_size)

    def _pos_embed(self, grid: Tuple[int, int]) -> torch.Tensor:
        # an ONNX export resamples in the graph even at the stored grid (bicubic there is the identity): the
        # early return would fix the graph to the example's size (the flag is read first: comparing the traced
        # grid with the stored one would record a guard that later size checks take as proven)
        if not torch.onnx.is_in_onnx_export() and grid == self.pos_grid:
            return self.pos_embed
        return resample_abs_pos_embed(self.pos_embed, new_size=list(grid), old_size=list(self.pos_grid),
                                      num_prefix_tokens=0)

    def forward(self, x: torch.Tensor) -> tuple:
        """Returns one NCHW map per ``out_indices`` entry (or ``(map, cls)`` pairs with ``out_cls_token``)."""
        B = x.shape[0]
        x = self.patch_embed(x)
        grid = (x.shape[1], x.shape[2])
        x = x.flatten(1, 2) + self._pos_embed(grid)
        cls = self.cls_token.expand(B, -1, -1) if self.cls_token is not None else None
        prefix = [] if cls is None or self.decoder is not None else [cls]
        if self.reg_token is not None:
            prefix.append(self.reg_token.expand(B, -1, -1))
        if prefix:
            x = torch.cat(prefix + [x], dim=1)
        x = self.pos_drop(x)

        outs = {}
        last = max(self.out_indices)
        # EDIT's [CLS] never enters the token sequence: without out_cls_token nothing reads the decoder,
        # and with it the decoder runs once after the encoder, over the tokens of every depth
        run_decoder = self.decoder is not None and self.out_cls_token
        depth_tokens = []
        for i, block in enumerate(self.blocks[:last + 1]):
            x = self._run(block, x, grid=grid, num_prefix_tokens=self.num_prefix_tokens)
            if run_decoder:
                depth_tokens.append(x)
            elif i in self.out_indices:
                outs[i] = self._format_output(x, cls, i, grid)
        if run_decoder:
            depth_cls = self._run(self._decode, cls, *depth_tokens)
            for i in self.out_indices:
                outs[i] = self._format_output(depth_tokens[i], depth_cls[i], i, grid)
        return tuple(outs[i] for i in self.out_indices)

    def _decode(self, cls: torch.Tensor, *depth_tokens: torch.Tensor) -> List[torch.Tensor]:
        return self.decoder(cls, depth_tokens)

    def _run(self, module, *args: torch.Tensor, **kwargs):
        """Calls ``module``; under ``with_cp`` in training, through non-reentrant activation checkpointing
        (the RNG state is restored for the recomputation, so drop path draws the same masks). The
        decoder is checkpointed as a whole: it keeps only the depths' tokens, which the blocks keep anyway."""
        if self.with_cp and self.training and torch.is_grad_enabled():
            return torch.utils.checkpoint.checkpoint(module, *args, use_reentrant=False, **kwargs)
        return module(*args, **kwargs)

    def _format_output(self, x: torch.Tensor, cls: Optional[torch.Tensor], index: int,
                       grid: Tuple[int, int]):
        # EDIT's [CLS] lives outside the sequence: put it in front for the final norm, as timm norms
        # every token, so the norm is used (and trained) by whatever the caller reads
        outside = self.decoder is not None and self.out_cls_token
        if outside:
            x = torch.cat([cls, x], dim=1)
        if index == self.depth - 1:
            x = self.norm(x)
        if outside:
            cls, x = x[:, :1], x[:, 1:]
        patches = x[:, self.num_prefix_tokens:]
        feat = patches.transpose(1, 2).reshape(x.shape[0], self.embed_dims, *grid)
        if not self.out_cls_token:
            return feat
        cls_out = cls[:, 0] if self.decoder is not None else x[:, 0]
        return feat, cls_out

    # ------------------------------------------------------------------------------------- freezing
    def _freeze_stages(self) -> None:
        if self.decoder is not None and not self.out_cls_token:
            # dense use of EDIT: nothing reads the [CLS] path, so it takes no gradient (DDP needs no
            # search for unused parameters and the optimiser leaves it as loaded)
            self.cls_token.requires_grad = False
            self.decoder.requires_grad_(False)
        if self.frozen_stages < 0:
            return
        frozen: List[nn.Module] = [self.patch_embed]
        frozen += list(self.blocks[:self.frozen_stages])
        if self.frozen_stages == self.depth:
            frozen += [m for m in (self.norm, self.decoder) if m is not None]
        for param in (self.pos_embed, self.cls_token, self.reg_token):
            if param is not None:
                param.requires_grad = False
        for module in frozen:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'PlainViT':
        super().train(mode)
        self._freeze_stages()
        return self


def _upper_half(arch: Union[str, dict]) -> List[int]:
    depth = int(resolve_arch(arch)['depth'])
    return list(range(depth // 2, depth))


@MODELS.register_module()
class GatedViT(PlainViT):
    """``PlainViT`` with the gated-attention proposal's gate: O_final = O * sigmoid(X W_gate + b_gate).

    The proposal writes the gate elementwise (W_gate is d x d: one score per channel), the default here;
    ``gate='headwise'`` (W_gate d x heads: one score per head) is the lighter option.
    """

    def __init__(self, gate: str = 'elementwise', **kwargs) -> None:
        super().__init__(gate=gate, **kwargs)


@MODELS.register_module()
class CBViT(PlainViT):
    """``PlainViT`` with Context Broadcasting in the upper layers.

    The CB paper puts CB in the upper layers (its Table 2) without listing them; the default here is
    the upper half of the blocks (6-11 of 12). Set ``cb_layers`` to choose others.
    """

    def __init__(self, cb_layers: Optional[Sequence[int]] = None, **kwargs) -> None:
        if cb_layers is None:
            cb_layers = _upper_half(kwargs.get('arch', 'small'))
        super().__init__(cb_layers=cb_layers, **kwargs)


@MODELS.register_module()
class EDITViT(PlainViT):
    """``PlainViT`` as EDIT: patch tokens never attend to [CLS]; a shared decoder produces it."""

    def __init__(self, cls_decoder: bool = True, **kwargs) -> None:
        check_bool('cls_decoder', cls_decoder)
        if not cls_decoder:
            raise ValueError('EDITViT is the encoder-decoder model: cls_decoder must stay True (use PlainViT)')
        super().__init__(cls_decoder=True, **kwargs)
