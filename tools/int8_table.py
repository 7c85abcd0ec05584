"""The INT8 table of docs/deploy.md: every backbone family trained on demo data, exported, quantised, evaluated.

Usage: ``python tools/int8_table.py --help`` (the command line is ``mmedit_vit.deploy.int8_table``)."""
from mmedit_vit.apis import run_tool
from mmedit_vit.deploy.int8_table import main

if __name__ == '__main__':
    run_tool(main)
