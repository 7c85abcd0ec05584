"""Parameters and FLOPs (multiply-adds, as timm / fvcore / the papers count them) of a config's model.

Usage: ``python tools/get_flops.py --help`` (the command line is ``mmedit_vit.apis.get_flops``)."""
from mmedit_vit.apis.get_flops import main

if __name__ == '__main__':
    main()
