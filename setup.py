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
    # The tested pin set; requirements/constraints.txt holds the same pins for pip -c.
    install_requires=[
        'torch==2.11.0',
        'torchvision==0.26.0',
        'mmengine==0.10.7',
        'mmcv==2.1.0',
        'mmsegmentation==1.2.2',
        'mmdet==3.3.0',
        'timm==1.0.31',
        'numpy>=1.26,<2.5',
        'ftfy',  # imported by mmseg, not declared by it
        'regex',  # imported by mmseg, not declared by it
        'pycocotools',  # mmdet's COCO metric
        'matplotlib',
        'pillow',
    ],
    extras_require={'dev': ['pytest']},
)
