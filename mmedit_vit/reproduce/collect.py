"""A table from its finished runs: mean and std per cell beside the paper's number (markdown, csv, png)."""
import json
import os
import os.path as osp
import statistics
from typing import Dict, List, Optional, Tuple

from .plan import Plan, format_command, metric_files, read_corruptions
from .runs import ROOT, Run, Table


def read_metric(plan: Plan, run: Run, metric: str, scale: float = 1.0) -> Optional[float]:
    """``metric`` of the run's output in the paper's unit, or None when the run has not finished."""
    if run.kind == 'complexity':
        path = osp.join(ROOT, plan.output(run))
        if not osp.isfile(path):
            return None
        with open(path) as f:
            return json.load(f)[metric] * scale
    if run.corruptions:  # a path into corruptions.json, e.g. 'summary.families.noise'
        report = read_corruptions(osp.join(ROOT, plan.output(run)))
        if report is None:
            return None
        value = report
        for part in metric.split('.'):
            if not isinstance(value, dict) or part not in value:
                raise KeyError(f'{plan.output(run)} has no {metric!r}')
            value = value[part]
        return float(value) * scale
    files = metric_files(plan.work_dir(run))
    if not files:
        return None
    with open(files[-1]) as f:
        metrics = json.load(f)
    if metric not in metrics:
        raise KeyError(f'{files[-1]} has no {metric!r}; it has {sorted(metrics)}')
    return float(metrics[metric]) * scale


def collect(table: Table, plan: Plan, out_dir: Optional[str] = None) -> dict:
    """Mean and std over the runs of each cell beside the paper's number; writes table.md, table.csv, table.png.

    A cell's runs are its seeds (or noise seeds); ``std`` is the sample standard deviation (0 for one run).
    """
    values: Dict[Tuple[str, str], List[float]] = {}
    missing: List[str] = []
    for run in table.runs:
        for cell, metric, scale in run.reads:
            value = read_metric(plan, run, metric, scale)
            if value is None:
                missing.append(format_command(plan.command(run)))
                break
            values.setdefault(cell, []).append(value)
    cells = {}
    for row in table.rows:
        for col in table.columns:
            got = values.get((row, col), [])
            cells[(row, col)] = dict(
                mean=statistics.fmean(got) if got else None, std=statistics.stdev(got) if len(got) > 1 else 0.0,
                n=len(got), values=got, paper=table.paper.get((row, col)))
    out_dir = out_dir or osp.join(plan.work_root, table.id)
    out_abs = out_dir if osp.isabs(out_dir) else osp.join(ROOT, out_dir)
    os.makedirs(out_abs, exist_ok=True)
    markdown = _markdown(table, cells, missing)
    with open(osp.join(out_abs, 'table.md'), 'w') as f:
        f.write(markdown)
    with open(osp.join(out_abs, 'table.csv'), 'w') as f:
        f.write('row,column,mean,std,n,paper,values\n')
        for (row, col), c in cells.items():
            f.write(','.join([_csv(row), _csv(col), _num(c['mean']), _num(c['std'] if c['n'] else None), str(c['n']),
                              _num(c['paper']), _csv(' '.join(f'{v:.4f}' for v in c['values']))]) + '\n')
    _plot(table, cells, osp.join(out_abs, 'table.png'))
    return dict(cells=cells, missing=missing, out_dir=out_dir, markdown=markdown)


def _csv(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _num(value: Optional[float]) -> str:
    return '' if value is None else f'{value:.4f}'


def _markdown(table: Table, cells: dict, missing: List[str]) -> str:
    head = ['row'] + [f'{c} ({side})' for c in table.columns for side in ('ours', 'paper')]
    lines = [f'# {table.title}', '', 'ours: mean ± std over the runs of the cell (their number in brackets); '
             'paper: as printed', '', '| ' + ' | '.join(head) + ' |', '|---' + '|---:' * (len(head) - 1) + '|']
    for row in table.rows:
        out = [row]
        for col in table.columns:
            c = cells[(row, col)]
            out.append('—' if c['mean'] is None else f"{c['mean']:.2f} ± {c['std']:.2f} ({c['n']})")
            out.append('—' if c['paper'] is None else f"{c['paper']:g}")
        lines.append('| ' + ' | '.join(out) + ' |')
    lines += [''] + [f'- {n}' for n in table.notes]
    lines += ['', f'missing runs: {len(missing)}'] + [f'    {m}' for m in missing]
    return '\n'.join(lines) + '\n'


def _plot(table: Table, cells: dict, path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(table.columns), figsize=(3.2 * len(table.columns) + 1, 3.6), squeeze=False)
    for ax, col in zip(axes[0], table.columns):
        xs = range(len(table.rows))
        means = [cells[(r, col)]['mean'] or 0.0 for r in table.rows]
        stds = [cells[(r, col)]['std'] for r in table.rows]
        ax.bar([x - 0.2 for x in xs], means, 0.4, yerr=stds, capsize=3, label='ours')
        ax.bar([x + 0.2 for x in xs], [cells[(r, col)]['paper'] or 0.0 for r in table.rows], 0.4, label='paper')
        ax.set_xticks(list(xs))
        ax.set_xticklabels(table.rows, rotation=45, ha='right', fontsize=7)
        ax.set_title(col, fontsize=9)
    axes[0][0].legend(fontsize=7)
    fig.suptitle(table.title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
