"""Parameters and FLOPs (multiply-adds, as timm / fvcore / the papers count them) of a config's model.

    python tools/get_flops.py CONFIG [--shape H [W]] [--cfg-options k=v ...]
    python tools/get_flops.py --all [--variants deit3 edit ...] [--sizes tiny small base]

CONFIG: a classification, segmentation or detection config of this project, or a bare backbone
config. Default input: 224x224 (classification), the crop size (segmentation), 800x1280 (detection).
``--all`` prints every backbone variant and size as an ImageNet classifier (1000 classes, 224x224)
next to the EDIT paper's Table 1.
"""
from mmedit_vit.apis.get_flops import main

if __name__ == '__main__':
    main()
