"""Attention-sink diagnostics of one or more backbones on a few images, compared on the same plots.

Usage: ``python tools/analyze.py --help`` (the command line is ``mmedit_vit.apis.analyze``)."""
from mmedit_vit.apis.analyze import main

if __name__ == '__main__':
    main()
