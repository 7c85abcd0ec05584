"""Parameters and FLOPs of whole task models built from configs, and the backbone table of EDIT's Table 1.

Counting uses ``count_flops`` (mmengine's analyser with the fused-attention handle) on the model's
``mode='tensor'`` forward: the classifier's logits, the segmentor's decode-head maps, the detector's
RPN and RoI-head outputs (proposals come from the RPN's own prediction on the traced input). ``ShapeCounter``
gives the same numbers from shapes on the meta device, in a fraction of the time (the model index counts every
config with it).
"""
import copy
import json
from importlib import import_module
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope
from torch import nn
from torch.overrides import TorchFunctionMode

from ..analysis.complexity import count_flops, count_parameters
from ..analysis.paper_tables import EDIT_TABLE1
from ..analysis.shape_flops import count_flops_from_shapes
from ..models.backbones.variants import BACKBONE_VARIANTS

TASKS = ('cls', 'seg', 'det', 'backbone')
SIZES = ('tiny', 'small', 'base')
# default input (H, W): classification as in the papers' tables; detection as mmdet reports 1x models
DEFAULT_SHAPES = {'cls': (224, 224), 'backbone': (224, 224), 'det': (800, 1280)}


def task_of(cfg: Config) -> str:
    """'seg', 'det', 'cls' from the config's default_scope / model; 'backbone' for a bare backbone."""
    model = cfg.get('model')
    if not isinstance(model, dict) or 'backbone' not in model:
        return 'backbone'
    scope = cfg.get('default_scope')
    if scope == 'mmseg':
        return 'seg'
    if scope == 'mmdet':
        return 'det'
    return 'cls'


def default_shape(cfg: Config, task: str) -> Tuple[int, int]:
    """The crop size of a segmentation config (512 otherwise); a detection config's fixed batch size
    (``BatchFixedSizePad``: ViTDet's 1024x1024); else ``DEFAULT_SHAPES``."""
    if task == 'seg':
        crop = cfg.get('crop_size') or cfg.model.get('data_preprocessor', {}).get('size') or (512, 512)
        return (crop, crop) if isinstance(crop, int) else tuple(crop)
    if task == 'det':
        augments = cfg.model.get('data_preprocessor', {}).get('batch_augments') or []
        for augment in augments:
            if augment.get('type') == 'BatchFixedSizePad':
                size = augment['size']
                return (size, size) if isinstance(size, int) else tuple(size)
    return DEFAULT_SHAPES[task]


def _registry(scope: Optional[str]):
    if not scope:
        return MODELS
    try:
        import_module(f'{scope}.utils').register_all_modules(init_default_scope=False)
    except (ImportError, AttributeError):
        pass
    try:
        return import_module(f'{scope}.registry').MODELS
    except (ImportError, AttributeError):
        return MODELS


def build_config_model(cfg: Config) -> nn.Module:
    """The config's model (backbone weights are not loaded: counting needs none)."""
    model_cfg = copy.deepcopy(cfg.model)
    if isinstance(model_cfg.get('backbone'), dict):
        model_cfg['backbone']['init_cfg'] = None
    elif 'backbone' not in model_cfg:
        model_cfg['init_cfg'] = None
    scope = cfg.get('default_scope')
    with DefaultScope.overwrite_default_scope(scope):
        return _registry(scope).build(model_cfg).eval()


class TensorForward(nn.Module):
    """``model(x, data_samples, mode='tensor')`` as a one-input module, for the FLOP analyser."""

    def __init__(self, model: nn.Module, task: str, shape: Tuple[int, int]) -> None:
        super().__init__()
        self.model = model
        self.task = task
        self.samples = self._samples(task, shape)

    @staticmethod
    def _samples(task: str, shape: Tuple[int, int]):
        if task != 'det':
            return None
        from mmdet.structures import DetDataSample
        meta = dict(img_shape=shape, ori_shape=shape, pad_shape=shape, batch_input_shape=shape,
                    scale_factor=(1.0, 1.0))
        return [DetDataSample(metainfo=meta)]

    def forward(self, x: torch.Tensor):
        if self.task == 'backbone':
            return self.model(x)
        return self.model(x, self.samples, mode='tensor')


def count_config(cfg: Config, shape: Optional[Sequence[int]] = None) -> Dict[str, object]:
    """Parameters and FLOPs (multiply-adds) of the config's model on one ``shape`` (H, W) input."""
    task = task_of(cfg)
    shape = tuple(shape) if shape else default_shape(cfg, task)
    if len(shape) == 1:
        shape = (shape[0], shape[0])
    model = build_config_model(cfg)
    flops = count_flops(TensorForward(model, task, shape), img_size=shape)
    return dict(task=task, model=type(model).__name__, shape=shape, params=count_parameters(model), flops=flops)


# in-place initialisers (timm's trunc_normal_ is uniform_, erfinv_, mul_, add_ and clamp_): on the meta device they
# have no values to write, and their meta kernels took longer than the rest of a build (Segmenter-B: 0.08 s -> 0.03 s)
_INITIALISERS = frozenset(getattr(torch.Tensor, name) for name in (
    'normal_', 'uniform_', 'erfinv_', 'clamp_', 'mul_', 'add_', 'sub_', 'div_', 'zero_', 'fill_', 'copy_',
    'exponential_', 'bernoulli_', 'random_'))


class _MetaConstruction(TorchFunctionMode):
    """While a model is built under ``torch.device('meta')``: ``linspace`` / ``logspace`` still make CPU tensors
    (constructors read their values: mmseg's Segmenter head takes its drop-path rates by ``.item()``), and
    in-place initialisers of meta tensors are skipped (they change no shape)."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in (torch.linspace, torch.logspace) and kwargs.get('device') is None:
            kwargs['device'] = 'cpu'
        elif func in _INITIALISERS and args and isinstance(args[0], torch.Tensor) and args[0].is_meta:
            return args[0]
        return func(*args, **kwargs)


def build_on_meta(cfg: Config) -> nn.Module:
    """The config's model on the meta device: shapes without memory or initialisation."""
    with torch.device('meta'), _MetaConstruction():
        return build_config_model(cfg)


class _FixedFeatures:
    """Stands in for a detector's ``extract_feat``: returns given maps, so the heads run on them alone."""

    def __init__(self, feats: Tuple[torch.Tensor, ...]) -> None:
        self.feats = feats

    def __call__(self, *_) -> Tuple[torch.Tensor, ...]:
        return self.feats


class ExtractFeat(nn.Module):
    """A detector's backbone and neck (``extract_feat``) as a module, for the FLOP analyser."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor):
        return self.model.extract_feat(x)


class ShapeCounter:
    """``count_config``'s parameters and FLOPs at a fraction of its cost, for counting every config.

    - Parameters: the model built on the meta device (no memory, no initialisation).
    - Classifiers and segmentors: counted on the meta device (``count_flops_from_shapes``); their
      ``mode='tensor'`` forward has no data-dependent step, so the shapes give the whole count.
    - Detectors: backbone and neck on the meta device; the heads (RPN, proposals, RoI heads), whose
      proposals depend on values, counted for real on seeded random maps of the neck's output shapes. The heads
      of configs that differ only in backbone and neck give the same maps' shapes and are counted once (every
      Mask R-CNN config here has one head count, and every ViTDet config another).
    ``tests/test_model_index.py`` checks that this equals ``count_config`` on a sample of each task.
    """

    def __init__(self) -> None:
        self.heads: Dict[str, int] = {}

    def __call__(self, cfg: Config, shape: Optional[Sequence[int]] = None) -> Dict[str, object]:
        task = task_of(cfg)
        shape = tuple(shape) if shape else default_shape(cfg, task)
        model = build_on_meta(cfg)
        params = count_parameters(model)
        if task != 'det':
            flops = count_flops_from_shapes(TensorForward(model, task, shape), img_size=shape)
        else:
            flops = count_flops_from_shapes(ExtractFeat(model), img_size=shape) + self._heads(cfg, model, shape)
        return dict(task=task, model=type(model).__name__, shape=shape, params=params, flops=flops)

    def _heads(self, cfg: Config, meta_model: nn.Module, shape: Tuple[int, int]) -> int:
        with torch.no_grad():
            feats = meta_model.extract_feat(torch.zeros(1, 3, *shape, device='meta'))
        heads = {k: v for k, v in cfg.model.to_dict().items() if k not in ('backbone', 'neck')}
        key = json.dumps([cfg.get('default_scope'), heads, [tuple(f.shape) for f in feats], shape], sort_keys=True,
                         default=str)
        if key not in self.heads:
            generator = torch.Generator().manual_seed(0)
            maps = tuple(torch.randn(f.shape, generator=generator) for f in feats)
            model = build_on_meta(cfg)  # the heads on the CPU with their own (seeded) initialisation
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                for name in ('rpn_head', 'roi_head'):
                    head = getattr(model, name)
                    head.to_empty(device='cpu')
                    head.init_weights()
            model.extract_feat = _FixedFeatures(maps)
            self.heads[key] = count_flops(TensorForward(model, 'det', shape), img_size=shape)
        return self.heads[key]


def classifier_config(variant: str, size: str, num_classes: int = 1000) -> dict:
    """The ImageNet classifier of one backbone variant and size (as the papers count them)."""
    if variant not in BACKBONE_VARIANTS:
        raise ValueError(f'variant={variant!r} is not known; choose one of {sorted(BACKBONE_VARIANTS)}')
    if size not in SIZES:
        raise ValueError(f'size={size!r} is not known; choose one of {SIZES}')
    return dict(type='ImageClassifier', num_classes=num_classes, backbone=dict(BACKBONE_VARIANTS[variant], arch=size))


def backbone_table(variants: Sequence[str] = tuple(BACKBONE_VARIANTS), sizes: Sequence[str] = SIZES,
                   img_size: int = 224) -> List[Dict[str, object]]:
    """Parameters / FLOPs of every variant and size with a 1000-class head; EDIT rows carry Table 1."""
    rows = []
    for variant in variants:
        for size in sizes:
            model = MODELS.build(classifier_config(variant, size)).eval()
            row = dict(variant=variant, size=size, params=count_parameters(model),
                       flops=count_flops(model, img_size=img_size))
            if variant == 'edit' and img_size == 224:
                paper_params, paper_flops = EDIT_TABLE1[size]
                row.update(paper_params=paper_params * 1e6, paper_flops=paper_flops * 1e9,
                           params_dev=row['params'] / (paper_params * 1e6) - 1,
                           flops_dev=row['flops'] / (paper_flops * 1e9) - 1)
            rows.append(row)
    return rows


def format_table(rows: List[Dict[str, object]]) -> str:
    """Markdown table of ``backbone_table`` rows (deviation from the paper where it has the model)."""
    lines = ['| backbone | size | params (M) | FLOPs (G) | EDIT Table 1 | deviation params / FLOPs |',
             '|---|---|---:|---:|---|---|']
    for r in rows:
        paper = dev = ''
        if 'paper_params' in r:
            paper = f"{r['paper_params'] / 1e6:.2f}M / {r['paper_flops'] / 1e9:.2f}G"
            dev = f"{100 * r['params_dev']:+.2f}% / {100 * r['flops_dev']:+.2f}%"
        lines.append(f"| {r['variant']} | {r['size']} | {r['params'] / 1e6:.2f} | {r['flops'] / 1e9:.2f} | "
                     f'{paper} | {dev} |')
    return '\n'.join(lines)
