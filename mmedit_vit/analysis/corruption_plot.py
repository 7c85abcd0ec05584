"""Metric against corruption severity, one panel per corruption, one line per model (``corruptions.json``
files of ``tools/test.py --corruptions``); severity 0 is the clean score."""
import json
from typing import Dict, Sequence, Tuple

from .plots import PANEL, _grid, _save, plt


def load_runs(paths: Sequence[str], labels: Sequence[str] = ()) -> Dict[str, dict]:
    """label -> report for ``corruptions.json`` files (labels default to the checkpoint names)."""
    if labels and len(labels) != len(paths):
        raise ValueError(f'{len(labels)} labels for {len(paths)} runs')
    runs = {}
    for i, path in enumerate(paths):
        with open(path) as f:
            report = json.load(f)
        label = labels[i] if labels else (report.get('checkpoint') or path)
        runs[label if label not in runs else f'{label} ({i})'] = report
    return runs


def plot_corruptions(runs: Dict[str, dict], path: str, cols: int = 5) -> Tuple[int, int]:
    """One panel per corruption (in the order of the first run), one line per run; returns the PNG's pixel
    size."""
    if not runs:
        raise ValueError('no corruption run to plot')
    metrics = {report['metric'] for report in runs.values()}
    if len(metrics) > 1:
        raise ValueError(f'the runs measure different metrics {sorted(metrics)}; plot one task at a time')
    metric = metrics.pop()
    names = []
    for report in runs.values():
        names += [name for name in report['results'] if name not in names]
    if not names:
        raise ValueError('the runs have no corrupted evaluation')
    rows, cols = _grid(len(names), cols)
    fig, axes = plt.subplots(rows, cols, figsize=(PANEL[0] * cols, PANEL[1] * rows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        for k, (label, report) in enumerate(runs.items()):
            severities = sorted(report['results'].get(name, {}), key=int)
            if not severities:
                continue
            xs = [0] + [int(s) for s in severities]
            ys = [report['clean'][metric]] + [report['results'][name][s][metric] for s in severities]
            ax.plot(xs, ys, marker='o', ms=3, label=label, color=f'C{k}')
        ax.set_title(name.replace('_', ' '), fontsize=9)
        ax.set_xlabel('severity (0 = clean)', fontsize=8)
        ax.set_ylabel(metric, fontsize=8)
        ax.set_xticks(range(6))
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(names):]:
        ax.axis('off')
    fig.tight_layout()
    return _save(fig, path)
