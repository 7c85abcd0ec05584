"""mmedit_vit: attention-sink-free Vision Transformers for OpenMMLab."""
import os

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def read_version() -> str:
    scope: dict = {}
    with open(os.path.join(HERE, 'mmedit_vit', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='mmedit_vit',
    version=read_version(),
    description='EDIT, gated-attention, Context Broadcasting, register and DeiT-III ViT backbones for OpenMMLab',
    long_description=open(os.path.join(HERE, 'README.md')).read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmedit_vit', 'mmedit_vit.*']),
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
        'scikit-image>=0.19',
    ],
    extras_require={'dev': ['pytest', 'ruff>=0.6', 'pre-commit']},
)
