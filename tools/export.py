"""Export a config + checkpoint to ONNX (float32 or INT8) for onnxruntime.

Usage: ``python tools/export.py --help`` (the command line is ``mmedit_vit.deploy.export_cli``)."""
from mmedit_vit.apis import run_tool
from mmedit_vit.deploy.export_cli import main

if __name__ == '__main__':
    run_tool(main)
