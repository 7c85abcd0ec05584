"""Train any config of this project (segmentation, detection, classification) with mmengine's Runner.

Usage: ``python tools/train.py --help`` (the command line is ``mmedit_vit.apis.train_cli``)."""
from mmedit_vit.apis import run_tool
from mmedit_vit.apis.train_cli import main

if __name__ == '__main__':
    run_tool(main)
