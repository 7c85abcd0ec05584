"""Reading back what mmengine's LoggerHook writes into a work_dir (for demos and tests)."""
import glob
import json
import os.path as osp
from typing import Dict


def latest_test_metrics(work_dir: str) -> dict:
    """The metrics of the newest test run in ``work_dir`` (``<work_dir>/<timestamp>/<timestamp>.json``)."""
    runs = sorted(glob.glob(osp.join(work_dir, '*', '*.json')), key=osp.getmtime)
    if not runs:
        raise FileNotFoundError(f'no test metrics were written under {work_dir}')
    with open(runs[-1]) as f:
        return json.load(f)


def training_losses(work_dir: str) -> Dict[int, float]:
    """Iteration -> logged ``loss`` over every run in ``work_dir`` (``vis_data/scalars.json``), later runs last."""
    losses = {}
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            for line in f:
                entry = json.loads(line)
                if 'loss' in entry:
                    losses[entry['iter']] = entry['loss']
    return losses
