"""mmedit_vit: attention-sink-free Vision Transformers for OpenMMLab."""
import os
import platform
import shutil
import sys

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))
# What OpenMMLab tools read from an installed package (mmseg's and mmdet's setup.py lay out the same):
# `mim train/test mmedit_vit CONFIG` searches mmedit_vit/.mim/configs and runs mmedit_vit/.mim/tools/train.py;
# mmengine resolves `_base_ = ['mmedit_vit::FOLDER/FILE']` to mmedit_vit/.mim/configs/FOLDER/FILE and reads
# mmedit_vit/.mim/model-index.yml. The repository's configs/ sits in .mim/configs/configs, so the scoped path is
# the file's path in the repository: 'mmedit_vit::configs/segmenter_edit_b_ade20k.py' (mmengine requires a
# folder in the path, and the top-level configs have none of their own).
MIM_LINKS = {'configs/configs': 'configs', 'tools': 'tools'}
MODEL_INDEX = 'model-index.yml'


def read_version() -> str:
    scope: dict = {}
    with open(os.path.join(HERE, 'mmedit_vit', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


def _install(src: str, dst: str, mode: str) -> None:
    if os.path.islink(dst) or os.path.isfile(dst):
        os.remove(dst)
    elif os.path.isdir(dst):
        shutil.rmtree(dst)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    if mode == 'symlink':
        os.symlink(os.path.relpath(src, os.path.dirname(dst)), dst)
    elif os.path.isdir(src):
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
    else:
        shutil.copyfile(src, dst)


def add_mim_extension() -> None:
    """Puts configs, tools and the model index into ``mmedit_vit/.mim`` (``MIM_LINKS``).

    An editable install links them (the checkout stays the one copy); a wheel or sdist copies them. The model
    index is written with its metafile paths relative to ``.mim``. Other setup.py commands leave ``.mim`` alone.
    """
    if 'develop' in sys.argv or 'editable_wheel' in sys.argv:
        mode = 'copy' if platform.system() == 'Windows' else 'symlink'
    elif {'sdist', 'bdist_wheel', 'build', 'build_py', 'install'} & set(sys.argv):
        mode = 'copy'
    else:
        return
    mim_path = os.path.join(HERE, 'mmedit_vit', '.mim')
    for target, source in MIM_LINKS.items():
        _install(os.path.join(HERE, source), os.path.join(mim_path, target), mode)
    index = os.path.join(HERE, MODEL_INDEX)
    if os.path.isfile(index):
        with open(index) as f:
            text = f.read().replace('- configs/', '- configs/configs/')
        with open(os.path.join(mim_path, MODEL_INDEX), 'w') as f:
            f.write(text)


if __name__ == '__main__':
    add_mim_extension()

setup(
    name='mmedit_vit',
    version=read_version(),
    description='EDIT, gated-attention, Context Broadcasting, register and DeiT-III ViT backbones for OpenMMLab',
    long_description=open(os.path.join(HERE, 'README.md')).read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmedit_vit', 'mmedit_vit.*']),
    include_package_data=True,  # mmedit_vit/.mim (MANIFEST.in)
    python_requires='>=3.10',
    license='Apache-2.0',
    # Compatible ranges; the tested pin set is requirements/constraints.txt (tools/setup_env.sh installs with it).
    install_requires=[
        'torch>=2.6',  # weights-only checkpoint loading with (callable, name) allow-list entries
        'torchvision>=0.21',
        'mmengine>=0.10.4,<1.0',
        'mmcv>=2.0.0,<2.2.0',  # mmdet 3.3 refuses mmcv 2.2
        'mmsegmentation>=1.2.0,<1.3',
        'mmdet>=3.3.0,<3.4',
        'timm>=1.0.31',  # the multi-tensor (foreach) LAMB of the ImageNet recipes
        'huggingface_hub>=0.23',  # checkpoints by hub name (timm/<model>.<tag>)
        'safetensors>=0.4',
        'numpy>=1.26,<2.5',
        'rich>=13',  # the demos' progress bars
        'ftfy',  # imported by mmseg, not declared by it
        'regex',  # imported by mmseg, not declared by it
        'pycocotools',  # mmdet's COCO metric
        'matplotlib',
        'pillow',
        'imagecorruptions>=1.1.2,<1.2',  # ImageNet-C corruptions; adapted to numpy 2 / scikit-image 0.26 in
        # mmedit_vit/datasets/transforms/imagecorruptions_compat.py, which relies on its module layout
        'scikit-image>=0.21',  # random_noise(rng=...), which imagecorruptions_compat.py passes, came in 0.21
    ],
    # openmim: `mim train/test mmedit_vit CONFIG` (requirements/constraints.txt pins its opendatalab)
    # deploy: tools/export.py (torch.onnx's dynamo exporter needs onnxscript), onnxruntime evaluation and INT8
    extras_require={'dev': ['pytest<9.2', 'pytest-xdist>=3.5', 'ruff>=0.6', 'pre-commit', 'openmim>=0.3.9'],
                    'deploy': ['onnx>=1.18', 'onnxruntime>=1.20', 'onnxscript>=0.5']},
)
