"""Draw several corruption runs as one figure: metric against severity, one panel per corruption, one
line per model.

    python tools/plot_corruptions.py RUN.json|RUN_DIR [...] --out corruptions.png [--labels A B ...]
"""
import argparse
import os.path as osp

from mmedit_vit.analysis.corruption_plot import load_runs, plot_corruptions
from mmedit_vit.apis import run_tool
from mmedit_vit.apis.corruption_eval import RESULT_NAME


def main() -> None:
    parser = argparse.ArgumentParser(description='plot corruptions.json files of tools/test.py --corruptions')
    parser.add_argument('runs', nargs='+', help='corruptions.json files or the work dirs holding them')
    parser.add_argument('--out', required=True, help='PNG to write')
    parser.add_argument('--labels', nargs='+', default=(), help='one legend label per run')
    parser.add_argument('--debug', action='store_true', help='show the full traceback of an error')
    args = parser.parse_args()
    paths = [osp.join(run, RESULT_NAME) if osp.isdir(run) else run for run in args.runs]
    missing = [p for p in paths if not osp.isfile(p)]
    if missing:
        raise SystemExit(f'no corruption results at {missing}')
    size = plot_corruptions(load_runs(paths, args.labels), args.out)
    print(f'wrote {args.out} ({size[0]}x{size[1]} px)')


if __name__ == '__main__':
    run_tool(main)
