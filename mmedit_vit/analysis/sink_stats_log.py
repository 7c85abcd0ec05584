"""Reading back ``SinkStatsHook``'s ``sink_stats.jsonl``: per-layer metrics as series over training.

The gated-attention proposal looks at the token-norm distribution every 10 epochs (when do high-norm
tokens appear) and at the mean gate score; this turns the hook's records into one series per metric
and layer, ready to plot against epochs or iterations.
"""
import json
from typing import Dict, List, Optional

X_AXES = ('auto', 'epoch', 'iter')


def read_sink_stats(path: str) -> List[dict]:
    """The records of a ``sink_stats.jsonl`` file, in the order they were written."""
    records = []
    with open(path) as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f'{path}:{line_no} is not a JSON line ({err.msg})') from None
            missing = {'iter', 'epoch', 'layers'} - set(record)
            if missing:
                raise ValueError(f'{path}:{line_no} is not a SinkStatsHook record: missing {sorted(missing)}')
            records.append(record)
    if not records:
        raise ValueError(f'{path} holds no SinkStatsHook record')
    return records


def sink_stats_series(records: List[dict], x: str = 'auto') -> Dict[str, object]:
    """``{'x_name', 'x', 'metrics': {metric: [[value per record] per layer]}}``.

    ``x``: 'epoch', 'iter', or 'auto' (epochs when every record has its own epoch, as with
    ``by_epoch=True``; iterations otherwise). A layer without a metric in a record (e.g. a CB_s scale
    outside the CB layers) holds None there.
    """
    if x not in X_AXES:
        raise ValueError(f'x={x!r} is not supported; choose one of {X_AXES}')
    epochs = [r['epoch'] for r in records]
    if x == 'auto':
        x = 'epoch' if len(set(epochs)) == len(epochs) else 'iter'
    names: List[str] = []
    for record in records:
        names += [k for k in record['layers'] if k not in names]
    metrics: Dict[str, List[List[Optional[float]]]] = {}
    for name in names:
        depth = max(len(r['layers'].get(name, [])) for r in records)
        metrics[name] = [[_at(r['layers'].get(name), layer) for r in records] for layer in range(depth)]
    return dict(x_name=x, x=[r[x] for r in records], metrics=metrics)


def _at(values: Optional[list], i: int) -> Optional[float]:
    return values[i] if values is not None and i < len(values) else None
