"""Training-step cost of every backbone against timm's VisionTransformer of the same size.

Usage: ``python tools/benchmark.py --help`` (the command line is ``mmedit_vit.analysis.benchmark``)."""
from mmedit_vit.analysis.benchmark import main

if __name__ == '__main__':
    main()
