"""Layer-wise learning-rate decay for the ViT backbones (BEiT / ViTDet fine-tuning recipe).

Block ``i`` of a depth-``L`` backbone trains at ``lr * rate ** (L - i)``; the embeddings (patch
embedding, position embedding, [CLS] and register tokens) at ``lr * rate ** (L + 1)``; the final
norm, the EDIT decoder and everything outside the backbone (neck, heads) at ``lr``. The existing
mmseg/mmdet constructors key on BEiT/ConvNeXt parameter names (``layers.N``, ``stages.N``), not on
``blocks.N`` / ``reg_token`` / ``decoder``. Every other paramwise option (``custom_keys``,
``flat_decay_mult``, ``norm_decay_mult``, ...) is mmengine's, applied first.
"""
import re
from typing import List, Optional, Union

from mmengine.logging import print_log
from mmengine.optim import DefaultOptimWrapperConstructor
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS
from torch import nn

from ...utils.arg_checks import check_float, check_int

EMBEDDING_NAMES = ('patch_embed', 'pos_embed', 'cls_token', 'reg_token')
TOP_NAMES = ('norm', 'decoder')
_BLOCK = re.compile(r'blocks\.(\d+)\.')


def vit_layer_id(name: str, num_layers: int, prefix: str = 'backbone.') -> int:
    """0 for the embeddings, ``i + 1`` for block ``i``, ``num_layers + 1`` for the rest of the model."""
    if not name.startswith(prefix):
        return num_layers + 1
    local = name[len(prefix):]
    root = local.split('.', 1)[0]
    if root in EMBEDDING_NAMES:
        return 0
    match = _BLOCK.match(local)
    if match:
        return int(match.group(1)) + 1
    if root in TOP_NAMES:
        return num_layers + 1
    raise ValueError(f'parameter {name!r} has no layer in the ViT layer-decay scheme: expected {prefix}'
                     f'{{{", ".join(EMBEDDING_NAMES)}}}, {prefix}blocks.N.*, or {prefix}{{{", ".join(TOP_NAMES)}}}')


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class ViTLayerDecayOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """mmengine's default constructor plus ``paramwise_cfg.layer_decay_rate`` (1.0 = no decay).

    ``paramwise_cfg.num_layers`` defaults to ``model.backbone.depth``; ``paramwise_cfg.backbone_prefix``
    (default ``'backbone.'``) names where the ViT sits in the model.
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: Optional[dict] = None) -> None:
        paramwise_cfg = dict(paramwise_cfg or {})
        self.layer_decay_rate = paramwise_cfg.pop('layer_decay_rate', 1.0)
        self.num_layers: Optional[int] = paramwise_cfg.pop('num_layers', None)
        self.backbone_prefix = str(paramwise_cfg.pop('backbone_prefix', 'backbone.'))
        check_float('layer_decay_rate', self.layer_decay_rate, min=0, max=1, min_open=True)  # 1.0 turns it off
        check_int('num_layers', self.num_layers, min=1, optional=True)
        # an empty paramwise_cfg makes mmengine skip add_params; keep it non-empty
        super().__init__(optim_wrapper_cfg, paramwise_cfg or dict(custom_keys={}))

    def _depth(self, model: nn.Module) -> int:
        if self.num_layers is not None:
            return int(self.num_layers)
        module: Union[nn.Module, None] = model
        for part in self.backbone_prefix.rstrip('.').split('.'):
            module = getattr(module, part, None)
        depth = getattr(module, 'depth', None)
        if not isinstance(depth, int):
            raise ValueError(f'cannot tell the backbone depth: the model has no {self.backbone_prefix!r}'
                             'module with an integer `depth`; set paramwise_cfg.num_layers')
        return depth

    def add_params(self, params: List[dict], module: nn.Module, prefix: str = '',
                   is_dcn_module: Optional[Union[int, float]] = None) -> None:
        super().add_params(params, module, prefix, is_dcn_module)
        if prefix or self.layer_decay_rate == 1.0:  # children are handled by the call on the whole model
            return
        num_layers = self._depth(module)
        names = {id(p): n for n, p in module.named_parameters(remove_duplicate=False)}
        for group in params:
            layer_id = vit_layer_id(names[id(group['params'][0])], num_layers, self.backbone_prefix)
            scale = self.layer_decay_rate ** (num_layers + 1 - layer_id)
            group['lr'] = group.get('lr', self.base_lr) * scale
        rate = self.layer_decay_rate
        print_log(f'layer-wise lr decay {rate} over {num_layers} blocks: embeddings x{rate ** (num_layers + 1):.4g}, '
                  f'block 0 x{rate ** num_layers:.4g}, last block x{rate:.4g}, neck/heads x1', logger='current')
