"""Robustness evaluation of classifiers (CB paper Table 8, gated proposal): switches a test config to
center occlusion, FGSM, or the ImageNet-A / ImageNet-R test sets (ImageNet-C: ``imagenet_c.py``).

``tools/test.py --occlusion [--occlusion-fill zero|mean]`` and ``--fgsm EPS`` call these on the loaded
Config; each mutates and returns it. The checkpoint is unchanged: the perturbation is an evaluation
option of the classifier (``ImageClassifier.test_perturbation``), applied to the normalised input inside
``test_step``.
"""
import copy
import os.path as osp
from typing import Optional

from mmengine.config import Config

from ..datasets.imagenet_subsets import NAMED_CLASS_LISTS
from ..models.classifiers.input_attacks import OCCLUSION_FILLS

SUBSET_ROOTS = {'imagenet-a': 'data/imagenet-a', 'imagenet-r': 'data/imagenet-r'}


def _classifier_model(cfg: Config, flag: str) -> dict:
    model = cfg.get('model')
    if not model or model.get('type') != 'ImageClassifier':
        raise ValueError(f'{flag} evaluates classification configs (model type ImageClassifier); this config '
                         f"has model type {model.get('type') if model else None!r}")
    return model


def _add_perturbation(model: dict, step: dict) -> None:
    """Appends ``step`` to the model's test perturbations (occlusion then FGSM when both are asked)."""
    current = model.get('test_perturbation') or []
    model['test_perturbation'] = ([current] if isinstance(current, dict) else list(current)) + [step]


def enable_occlusion(cfg: Config, size: int = 112, at_size: int = 224, fill: str = 'zero') -> Config:
    """Masks the centred ``size`` x ``size`` square of every ``at_size`` test input (CB paper: 112 of 224,
    zero-masked); inputs of another size lose the same fraction of each side. ``fill``: 'zero' (pixel
    value 0) or 'mean' (the normalisation mean colour, 0 after normalisation)."""
    if fill not in OCCLUSION_FILLS:
        raise ValueError(f'occlusion fill={fill!r} is not supported; choose one of {OCCLUSION_FILLS}')
    _add_perturbation(_classifier_model(cfg, '--occlusion'),
                      dict(type='center_occlusion', size=size, at_size=at_size, fill=fill))
    return cfg


def enable_fgsm(cfg: Config, eps: float) -> Config:
    """Attacks every test input with one FGSM step of ``eps`` on the 0-1 pixel scale (1/255 = 0.0039)."""
    _add_perturbation(_classifier_model(cfg, '--fgsm'), dict(type='fgsm', eps=eps))
    return cfg


def model_classes(dataset: dict):
    """The class order of a folder dataset config in a form that does not depend on its ``data_root``: a
    named list or an explicit list as given, a class-list file or folder as an absolute path (the dataset's
    own folders when it names none)."""
    root, classes = dataset.get('data_root', ''), dataset.get('classes')
    if classes is None:  # the folders themselves name the classes
        prefix = dataset.get('data_prefix', '')
        classes = osp.join(root, prefix.get('img_path', '') if isinstance(prefix, dict) else prefix)
    if isinstance(classes, str) and classes not in NAMED_CLASS_LISTS:
        classes = osp.abspath(osp.join(root, classes))  # a folder or file next to the data
    return classes


def enable_imagenet_subset(cfg: Config, subset: str, data_root: Optional[str] = None) -> Config:
    """Tests on ImageNet-A or ImageNet-R (``<data_root>/<synset>/<image>``) with the config's val pipeline.

    The model's class order is taken from the config's val dataset (``classes``), so an ImageNet-1k
    model is scored on the 200 subset classes and an ImageNet-100 model on the classes it shares.
    """
    _classifier_model(cfg, f'--test-set {subset}')
    if subset not in SUBSET_ROOTS:
        raise ValueError(f'subset={subset!r} is not supported; choose one of {sorted(SUBSET_ROOTS)}')
    val = cfg.val_dataloader.dataset
    loader = copy.deepcopy(cfg.val_dataloader)
    loader.dataset = dict(type='ImageNetSubsetDataset', subset=subset, data_root=data_root or SUBSET_ROOTS[subset],
                          data_prefix=dict(img_path=''), classes=model_classes(val), pipeline=val.pipeline)
    cfg.test_dataloader = loader
    cfg.test_evaluator = copy.deepcopy(cfg.val_evaluator)
    return cfg
