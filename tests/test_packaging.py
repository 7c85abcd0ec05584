"""Packaging: install_requires states ranges, and the tested pins in requirements/constraints.txt satisfy them."""
import os.path as osp
import runpy

import pytest
import setuptools
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from conftest import ROOT


@pytest.fixture(scope='module')
def setup_kwargs():
    captured = {}
    patch = pytest.MonkeyPatch()
    patch.setattr(setuptools, 'setup', lambda **kwargs: captured.update(kwargs))
    try:
        runpy.run_path(osp.join(ROOT, 'setup.py'), run_name='__main__')
    finally:
        patch.undo()
    return captured


def pins() -> dict:
    out = {}
    with open(osp.join(ROOT, 'requirements', 'constraints.txt')) as f:
        for line in f:
            line = line.split('#')[0].strip()
            if line:
                req = Requirement(line)
                out[canonicalize_name(req.name)] = req.specifier
    return out


def test_install_requires_are_ranges_not_pins(setup_kwargs):
    requirements = [Requirement(r) for r in setup_kwargs['install_requires']]
    pinned = [str(r) for r in requirements if any(s.operator in ('==', '===') for s in r.specifier)]
    assert not pinned, f'exact pins belong in requirements/constraints.txt, not install_requires: {pinned}'
    names = {canonicalize_name(r.name) for r in requirements}
    assert {'torch', 'mmcv', 'mmsegmentation', 'mmdet', 'timm', 'mmengine', 'huggingface-hub'} <= names


def test_tested_pins_satisfy_the_ranges(setup_kwargs):
    tested = pins()
    for requirement in map(Requirement, setup_kwargs['install_requires']):
        spec = tested.get(canonicalize_name(requirement.name))
        exact = [s.version for s in spec or [] if s.operator == '==']
        if exact:
            assert requirement.specifier.contains(exact[0], prereleases=True), \
                f'constraints.txt pins {requirement.name}=={exact[0]}, outside install_requires {requirement}'


def test_mmcv_range_excludes_what_mmdet_refuses(setup_kwargs):
    mmcv = next(Requirement(r) for r in setup_kwargs['install_requires'] if r.startswith('mmcv'))
    assert mmcv.specifier.contains('2.1.0') and not mmcv.specifier.contains('2.2.0')


def test_scikit_image_range_starts_where_random_noise_takes_rng(setup_kwargs):
    """imagecorruptions_compat passes ``rng=`` to ``skimage.util.random_noise``: scikit-image 0.21 renamed its
    ``seed`` argument to ``rng`` (release notes, "Unify pseudo-random seeding interface")."""
    import inspect

    from skimage.util import random_noise
    skimage = next(Requirement(r) for r in setup_kwargs['install_requires'] if r.startswith('scikit-image'))
    assert skimage.specifier.contains('0.21.0') and not skimage.specifier.contains('0.20.0')
    assert 'rng' in inspect.signature(random_noise).parameters


def test_dev_extra_has_the_lint_tools(setup_kwargs):
    dev = {canonicalize_name(Requirement(r).name) for r in setup_kwargs['extras_require']['dev']}
    assert {'pytest', 'ruff', 'pre-commit'} <= dev
    assert setup_kwargs['license'] == 'Apache-2.0'
    with open(osp.join(ROOT, 'LICENSE')) as f:
        assert 'Apache License' in f.read(200)


def test_deploy_extra_is_pinned_and_set_up(setup_kwargs):
    """onnx / onnxruntime / onnxscript: ranges in the extra, exact tested versions in constraints.txt, and the
    set-up script installs the extra, so the deploy tests run on a fresh machine."""
    tested = pins()
    deploy = [Requirement(r) for r in setup_kwargs['extras_require']['deploy']]
    assert {canonicalize_name(r.name) for r in deploy} == {'onnx', 'onnxruntime', 'onnxscript'}
    for requirement in deploy:
        exact = [s.version for s in tested.get(canonicalize_name(requirement.name)) or [] if s.operator == '==']
        assert exact and requirement.specifier.contains(exact[0]), requirement
    with open(osp.join(ROOT, 'tools', 'setup_env.sh')) as f:
        assert '-e "$root[dev,deploy]"' in f.read()
