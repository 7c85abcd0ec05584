"""An image classifier over any backbone of the family: [CLS], EDIT's decoder output, or pooled patches."""
import copy
from typing import Dict, List, Optional, Union

import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmengine.model import BaseModel
from mmengine.registry import MODELS
from mmengine.structures import BaseDataElement
from timm.layers import trunc_normal_
from timm.loss import SoftTargetCrossEntropy
from torch import nn

from ...utils.arg_checks import check_float, check_int
from ..data_preprocessors.cls_data_preprocessor import check_labels
from .input_attacks import apply_test_perturbation, check_test_perturbation

POOLS = ('auto', 'cls', 'gap')


@MODELS.register_module()
class ImageClassifier(BaseModel):
    """Backbone + pooling + linear head, trained and tested by mmengine's runner.

    Args:
        backbone: config of a ``PlainViT``-family backbone; its deepest output is classified.
        num_classes: size of the linear head.
        pool: 'cls' (the [CLS] token after the backbone's final norm; for EDIT the decoder output through that norm),
            'gap' (mean of the patch tokens), or 'auto' ('cls' when the backbone has a [CLS] token).
        loss: a loss config (``LabelSmoothingCrossEntropy``, ``SoftTargetCrossEntropy`` or
            ``BinaryCrossEntropy``, timm's); Mixup's soft targets are used when present.
        data_preprocessor: ``ClsDataPreprocessor`` config (its ``num_classes`` defaults to this one).
        head_init_std: std of the head's truncated-normal initialisation (timm: 0.02; bias zero).
        test_perturbation: evaluation-only input change,
            ``dict(type='center_occlusion', size=112, at_size=224, fill='zero')`` (fill 'zero' | 'mean'),
            ``dict(type='fgsm', eps=...)``, or a list of them applied in order; see
            ``mmedit_vit.apis.robustness``.
    """

    def __init__(self,
                 backbone: dict,
                 num_classes: int = 1000,
                 pool: str = 'auto',
                 loss: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 head_init_std: float = 0.02,
                 test_perturbation: Union[None, dict, List[dict]] = None,
                 init_cfg: Optional[dict] = None) -> None:
        check_int('num_classes', num_classes, min=1)
        check_float('head_init_std', head_init_std, min=0, min_open=True)
        if pool not in POOLS:
            raise ValueError(f'pool={pool!r} is not supported; choose one of {POOLS}')
        data_preprocessor = dict(type='ClsDataPreprocessor') if data_preprocessor is None \
            else copy.deepcopy(dict(data_preprocessor))
        data_preprocessor.setdefault('num_classes', num_classes)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)

        backbone = copy.deepcopy(dict(backbone))
        has_cls = backbone.get('with_cls_token', True)
        if pool == 'auto':
            pool = 'cls' if has_cls else 'gap'
        if pool == 'cls' and not has_cls:
            raise ValueError("pool='cls' needs a backbone with a [CLS] token (with_cls_token=True); use 'gap'")
        wanted = pool == 'cls'
        if backbone.setdefault('out_cls_token', wanted) != wanted:
            raise ValueError(f"backbone out_cls_token={backbone['out_cls_token']} contradicts pool={pool!r}: "
                             'leave it unset, the classifier sets it')
        out_indices = backbone.get('out_indices', -1)
        if not isinstance(out_indices, int) and len(out_indices) != 1:
            raise ValueError(f'the classifier reads one backbone output; got out_indices={out_indices!r}')
        self.backbone = MODELS.build(backbone)
        if self.backbone.out_indices != [self.backbone.depth - 1]:
            raise ValueError(f'the classifier reads the last block; got out_indices={out_indices!r}')
        self.pool = pool
        self.num_classes = num_classes
        self.head = nn.Linear(self.backbone.embed_dims, num_classes)
        trunc_normal_(self.head.weight, std=head_init_std)
        nn.init.zeros_(self.head.bias)
        self.loss_module = MODELS.build(loss if loss is not None else dict(type='LabelSmoothingCrossEntropy',
                                                                           smoothing=0.0))
        self.test_perturbation = check_test_perturbation(test_perturbation)

    def init_weights(self) -> None:
        """Initialises the backbone (``Pretrained`` loads strictly); the head keeps its init."""
        self.backbone.init_weights()

    # ----------------------------------------------------------------------------------- forward
    def extract_feat(self, inputs: torch.Tensor) -> torch.Tensor:
        """The pooled (B, C) feature the head classifies."""
        out = self.backbone(inputs)[0]
        if self.pool == 'cls':
            return out[1]
        return out.mean(dim=(2, 3))

    def forward(self, inputs: torch.Tensor, data_samples: Optional[List[BaseDataElement]] = None,
                mode: str = 'tensor') -> Union[torch.Tensor, Dict[str, torch.Tensor], List[BaseDataElement]]:
        if mode == 'tensor':
            return self.head(self.extract_feat(inputs))
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise ValueError(f"mode={mode!r} is not supported; choose 'tensor', 'loss' or 'predict'")

    def targets(self, data_samples: List[BaseDataElement], device: torch.device) -> torch.Tensor:
        """Mixup's soft targets when the preprocessor made them, else the integer labels."""
        if all('gt_score' in s for s in data_samples):
            return torch.stack([s.gt_score for s in data_samples]).to(device)
        labels = torch.cat([s.gt_label.view(-1) for s in data_samples])
        if labels.device.type == 'cpu':  # labels already on a device were checked by the preprocessor, on the host
            check_labels(labels, self.num_classes)
        return labels.to(device)

    def loss(self, inputs: torch.Tensor, data_samples: List[BaseDataElement]) -> Dict[str, torch.Tensor]:
        logits = self(inputs, mode='tensor')
        target = self.targets(data_samples, logits.device)
        if target.ndim == 1 and isinstance(self.loss_module, SoftTargetCrossEntropy):
            target = F.one_hot(target, self.num_classes).to(logits.dtype)
        return dict(loss=self.loss_module(logits, target))

    def predict(self, inputs: torch.Tensor,
                data_samples: Optional[List[BaseDataElement]] = None) -> List[BaseDataElement]:
        scores = self(inputs, mode='tensor').softmax(dim=-1)
        if data_samples is None:
            data_samples = [BaseDataElement() for _ in range(scores.shape[0])]
        for sample, score in zip(data_samples, scores):
            sample.pred_score = score.detach()
            sample.pred_label = score.argmax(dim=-1, keepdim=True).detach()
        return data_samples

    def test_step(self, data: Union[dict, tuple, list]) -> List[BaseDataElement]:
        """``val_step`` plus the configured ``test_perturbation`` of the normalised inputs.

        The perturbation is recorded as ``test/test_perturbation`` in the message hub, so the test log
        line and metrics json say which input change (e.g. which occlusion fill) a result used.
        """
        data = self.data_preprocessor(data, False)
        if self.test_perturbation:
            hub = MessageHub.get_current_instance()
            hub.update_info('test/test_perturbation', copy.deepcopy(self.test_perturbation))
            data['inputs'] = apply_test_perturbation(self, data['inputs'], data['data_samples'],
                                                     self.test_perturbation)
        return self._run_forward(data, mode='predict')
