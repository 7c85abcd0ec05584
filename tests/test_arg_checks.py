"""Every numeric and boolean constructor argument of every registered mmedit_vit module refuses a wrong type.

The table is built from mmengine's registries: each class registered from ``mmedit_vit``, each parameter of
its ``__init__`` (followed through ``**kwargs`` into the parents it hands them to) whose annotation or
default is a bool, an integer, a float or a sequence of them. A new argument of such a type fails here
until its constructor checks it.
"""
import collections.abc
import inspect
import math
import typing

import mmengine.registry as registries
import numpy as np
import pytest
import torch
from mmengine.registry import Registry

import mmedit_vit  # noqa: F401  (registers the modules)
from mmedit_vit.utils.arg_checks import ArgumentTypeError, check_bool, check_float, check_floats, check_int, check_ints

TINY = dict(arch=dict(embed_dims=32, num_heads=2, depth=2), img_size=32)
SEG_HEAD = dict(channels=32, num_classes=4)
# arguments a class needs to be built at all (the checked argument is added to these)
REQUIRED = {
    'Corrupt': dict(corruption='gaussian_noise', severity=3),
    'PlainViT': TINY, 'GatedViT': TINY, 'CBViT': TINY, 'EDITViT': TINY,
    'MatmulResizeSegmenterMaskTransformerHead': dict(SEG_HEAD, in_channels=32, num_layers=1, num_heads=2,
                                                     embed_dims=32),
    'MatmulResizeUPerHead': dict(SEG_HEAD, in_channels=[32, 32], in_index=[0, 1], pool_scales=(1, 2)),
    'MatmulResizeFCNHead': dict(SEG_HEAD, in_channels=32, num_convs=1),
    'ImageClassifier': dict(backbone=dict(type='PlainViT', **TINY), num_classes=10),
    'RepeatAugSampler': dict(dataset=list(range(8))),
    'FastResumeIterBasedTrainLoop': dict(runner=None, dataloader=None, max_iters=10),
    'ImagePerturbation': dict(kind='gaussian_noise', strength=1.0),
    'LoadSegLabels': dict(num_classes=150),
    'ViTLayerDecayOptimWrapperConstructor': dict(optim_wrapper_cfg=dict(optimizer=dict(type='SGD', lr=0.1))),
    'ImageFolderDataset': dict(lazy_init=True), 'ImageNetSubsetDataset': dict(lazy_init=True),
    'DeferredLogOptimWrapper': dict(optimizer=torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)),
    'DeferredLogAmpOptimWrapper': dict(optimizer=torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)),
    'SimpleFPN': dict(backbone_channel=32, in_channels=[8, 16, 32, 32], norm_cfg=dict(type='LN2d')),
}
# built with REQUIRED alone too, to show the checked values are the only thing wrong
NOT_BUILT = {
    'FastResumeIterBasedTrainLoop': 'needs a built runner and data loader',
    'SafeRunner': 'needs a whole config',
    **({} if torch.cuda.is_available() else {'DeferredLogAmpOptimWrapper': "mmengine's AmpOptimWrapper needs CUDA"}),
}
# classes whose arguments are not checked here, with the reason
EXEMPT = {
    'SafeRunner': "mmengine's Runner, built by the tools from a whole config: its only boolean, resume, is "
                  "set from --resume; its other arguments are the config's sections",
}
# parameters of mmseg's heads without an annotation or a numeric default
UNTYPED = {'in_channels': 'int', 'channels': 'int', 'num_classes': 'int', 'num_layers': 'int', 'num_heads': 'int',
           'embed_dims': 'int', 'mlp_ratio': 'float'}
WRONG = {
    'int': [True, 2.5, '3'],
    'float': [True, 'x', math.nan],
    'bool': [1, 'True'],
    'ints': [(True,), (2.5,), 'ab'],
    'floats': [(True,), ('x',)],
}


def registered_classes():
    seen = {}
    for name in dir(registries):
        registry = getattr(registries, name)
        if isinstance(registry, Registry):
            for key, cls in registry.module_dict.items():
                if getattr(cls, '__module__', '').startswith('mmedit_vit'):
                    seen[key] = cls
    return seen


def _kind_of_annotation(annotation):
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if annotation in (bool, int, float):
        return annotation.__name__
    if origin is typing.Union:
        kinds = {_kind_of_annotation(a) for a in args}
        return 'int' if 'int' in kinds else next(iter(kinds - {None}), None)
    if origin in (list, tuple, typing.Sequence, collections.abc.Sequence) and args:
        inner = _kind_of_annotation(args[0])
        return {'int': 'ints', 'float': 'floats'}.get(inner)
    return None


def kind_of(param: inspect.Parameter):
    """'int' | 'float' | 'bool' | 'ints' | 'floats' from the annotation, the default or ``UNTYPED``."""
    if param.annotation is not inspect.Parameter.empty:
        return _kind_of_annotation(param.annotation)
    default = param.default
    if param.name in UNTYPED:
        return UNTYPED[param.name]
    if isinstance(default, bool):
        return 'bool'
    if isinstance(default, (int, float)):
        return type(default).__name__
    if isinstance(default, tuple) and default and all(isinstance(v, int) for v in default):
        return 'ints'
    return None


def constructor_parameters(cls):
    """Named parameters of ``cls.__init__`` and of the parents' that its ``*args`` / ``**kwargs`` reach."""
    params = {}
    for klass in cls.__mro__:
        if klass is object or '__init__' not in vars(klass):
            continue
        signature = inspect.signature(vars(klass)['__init__'])
        for param in list(signature.parameters.values())[1:]:
            if param.kind not in (param.VAR_KEYWORD, param.VAR_POSITIONAL):
                params.setdefault(param.name, param)
        if not any(p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL) for p in signature.parameters.values()):
            break
    return params


def cases():
    out = []
    for key, cls in sorted(registered_classes().items()):
        if key in EXEMPT:
            continue
        for name, param in constructor_parameters(cls).items():
            kind = kind_of(param)
            if kind is not None:
                out += [pytest.param(cls, name, bad, id=f'{key}-{name}-{bad!r}') for bad in WRONG[kind]]
    return out


# numeric entries inside dict arguments: (class, dict argument, key, kind)
NESTED = [('PlainViT', 'arch', key, kind) for key, kind in (('embed_dims', 'int'), ('num_heads', 'int'),
                                                             ('depth', 'int'), ('mlp_ratio', 'float'))]
NESTED += [('ViTLayerDecayOptimWrapperConstructor', 'paramwise_cfg', 'layer_decay_rate', 'float'),
           ('ViTLayerDecayOptimWrapperConstructor', 'paramwise_cfg', 'num_layers', 'int')]


def nested_kwargs(key: str, where: str, name: str, bad) -> dict:
    kwargs = dict(REQUIRED[key])
    kwargs[where] = dict(kwargs.get(where) or {}, **{name: bad})
    return kwargs


CASES = cases()


def test_the_table_covers_every_family():
    covered = {c.values[0].__name__ for c in CASES}
    for key in ('PlainViT', 'EDITViT', 'MatmulResizeUPerHead', 'AtomicCheckpointHook', 'SinkStatsHook',
                'RepeatAugSampler', 'FastResumeIterBasedTrainLoop', 'TopKAccuracy', 'ImageFolderDataset',
                'LoadSegLabels', 'TimmTransform', 'ImagePerturbation', 'ClsDataPreprocessor', 'ImageClassifier'):
        assert key in covered, key
    assert len(CASES) > 200


@pytest.mark.parametrize('cls', [c for k, c in sorted(registered_classes().items())
                                 if k not in NOT_BUILT and k in REQUIRED], ids=lambda c: c.__name__)
def test_required_arguments_alone_build(cls, tmp_path):
    kwargs = dict(REQUIRED[cls.__name__])
    if 'lazy_init' in kwargs:
        kwargs['data_root'] = str(tmp_path)
    with built_in_its_scope(cls):
        cls(**kwargs)


def built_in_its_scope(cls):
    """mmseg's heads build their losses from the default scope, which an earlier test may have left elsewhere."""
    from mmengine.registry import DefaultScope
    return DefaultScope.overwrite_default_scope('mmseg' if '.decode_heads' in cls.__module__ else None)


@pytest.mark.parametrize('cls,name,bad', CASES)
def test_wrong_type_is_refused_with_the_argument_named(cls, name, bad, tmp_path):
    kwargs = dict(REQUIRED.get(cls.__name__, {}), **{name: bad})
    with pytest.raises((TypeError, ValueError)) as info, built_in_its_scope(cls):
        cls(**kwargs)
    assert f'{name}=' in str(info.value), str(info.value)


@pytest.mark.parametrize('key,where,name,bad', [
    pytest.param(key, where, name, bad, id=f'{key}-{where}.{name}-{bad!r}')
    for key, where, name, kind in NESTED for bad in WRONG[kind]])
def test_wrong_type_inside_a_dict_argument_is_refused(key, where, name, bad):
    with pytest.raises((TypeError, ValueError)) as info:
        registered_classes()[key](**nested_kwargs(key, where, name, bad))
    assert f'{name}=' in str(info.value), str(info.value)


@pytest.mark.parametrize('check,args,error,words', [
    (check_int, ('depth', True), ArgumentTypeError, ['depth=True', 'not a bool']),
    (check_int, ('depth', 2.0), TypeError, ['depth=2.0', 'integer']),
    (check_int, ('depth', 0, 1), ValueError, ['depth=0', '>= 1']),
    (check_int, ('frozen_stages', 13, -1, 12), ValueError, ['[-1, 12]']),
    (check_float, ('rate', 1.0, 0, 1, False, True), ValueError, ['rate=1.0', '[0, 1)']),
    (check_float, ('rate', math.inf), ValueError, ['finite']),
    (check_bool, ('flag', 0), TypeError, ['flag=0', 'True or False']),
    (check_ints, ('topk', []), None, []),
    (check_ints, ('out_indices', [1, True]), TypeError, ['out_indices=[1, True]']),
    (check_floats, ('std', (1.0, 0.0), None, 0, True), ValueError, ['std=']),
])
def test_checks(check, args, error, words):
    if error is None:
        check(*args)
        return
    with pytest.raises(error) as info:
        check(*args)
    assert isinstance(info.value, ValueError)  # callers catching ValueError for bad configs see it too
    for word in words:
        assert word in str(info.value)


def test_numpy_integers_pass():
    check_int('depth', np.int64(3), min=1)
    check_float('rate', np.float32(0.5))
    with pytest.raises(TypeError):
        check_bool('flag', np.int64(1))
