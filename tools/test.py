"""Evaluate a checkpoint of any config of this project with mmengine's Runner.

Usage: ``python tools/test.py --help`` (the command line is ``mmedit_vit.apis.test_cli``)."""
from mmedit_vit.apis import run_tool
from mmedit_vit.apis.test_cli import main

if __name__ == '__main__':
    run_tool(main)
