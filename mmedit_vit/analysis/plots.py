"""Figures of the sink statistics (matplotlib, Agg): per-layer curves, norm histograms, attention maps,
and the per-layer metrics over training that ``SinkStatsHook`` records.

Every function returns the pixel size (width, height) of the PNG it wrote: figures are saved at a
fixed size and dpi, without tight cropping.
"""
import math
from typing import Dict, List, Optional, Sequence, Tuple

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

DPI = 100
PANEL = (4.0, 3.0)  # inches per subplot
# metric -> (title, log scale); the order of the panels
CURVES = {
    'cls_attention_ratio': ('[CLS] attention / mean patch token', True),
    'decoder_cls_attention_ratio': ('EDIT decoder: previous [CLS] / mean patch', True),
    'register_attention_share': ('attention share of registers', False),
    'entropy_mean': ('attention entropy, mean (nats)', False),
    'entropy_p15': ('attention entropy, 15th percentile', False),
    'relative_distance': ('relative attention distance', False),
    'norm_median': ('patch-token norm, median', False),
    'norm_max': ('patch-token norm, max', True),
    'high_norm_fraction': ('high-norm token fraction (absolute threshold)', False),
    'rel_high_norm_fraction': ('tokens above k x median patch norm', False),
    'kurtosis': ('residual-stream kurtosis (mean over tokens)', True),
    'block_max_abs': ('max |x|, block output', True),
    'mlp_max_abs': ('max |x|, MLP hidden', True),
    'cls_norm': ('[CLS] norm', False),
    'register_norm': ('register norm', False),
    'gate_score_mean': ('mean gate score', False),
    'gate_sparsity': ('gate sparsity', False),
    'cbs_scale_mean': ('CB_s Lambda, mean', False),
    'cbs_scale_ratio': ('CB_s |lambda_0.1| / |lambda_0.9|', False),
    'window_top_share': ('per window: attention to its top token', False),
    'window_top_high_norm': ('windows whose top token is high-norm', False),
    'window_high_norm': ('windows holding a high-norm token', False),
    'window_prefix_sink': ('windows whose sink is [CLS] / registers', False),
}


def _save(fig: plt.Figure, path: str) -> Tuple[int, int]:
    fig.savefig(path, dpi=DPI)
    width, height = fig.get_size_inches()
    plt.close(fig)
    return int(round(width * DPI)), int(round(height * DPI))


def _grid(n: int, cols: int) -> Tuple[int, int]:
    cols = max(1, min(cols, n))
    return math.ceil(n / cols), cols


def plot_layer_curves(results: Dict[str, Dict[str, list]], path: str, cols: int = 3) -> Tuple[int, int]:
    """One panel per metric, one line per model (``results``: model name -> per-layer stats)."""
    metrics = [m for m in CURVES if any(m in stats for stats in results.values())]
    if not metrics:
        raise ValueError('no per-layer metric to plot')
    rows, cols = _grid(len(metrics), cols)
    fig, axes = plt.subplots(rows, cols, figsize=(PANEL[0] * cols, PANEL[1] * rows), squeeze=False)
    for ax, metric in zip(axes.flat, metrics):
        title, log = CURVES[metric]
        for k, (name, stats) in enumerate(results.items()):  # one colour per model in every panel
            values = stats.get(metric)
            if values is None:
                continue
            layers = [i for i, v in enumerate(values) if v is not None]
            ax.plot(layers, [values[i] for i in layers], marker='o', ms=3, label=name, color=f'C{k}')
        if log and all(v is None or v > 0 for s in results.values() for v in s.get(metric, [])):
            ax.set_yscale('log')
        ax.set_title(title, fontsize=9)
        ax.set_xlabel('layer', fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(metrics):]:
        ax.axis('off')
    fig.tight_layout()
    return _save(fig, path)


def plot_norm_histograms(norms: Dict[str, List[np.ndarray]], path: str, bins: int = 40,
                         threshold: Optional[float] = None, cols: int = 4) -> Tuple[int, int]:
    """One panel per layer, each model's patch-token norm histogram overlaid (log counts)."""
    depth = max(len(v) for v in norms.values())
    rows, cols = _grid(depth, cols)
    fig, axes = plt.subplots(rows, cols, figsize=(PANEL[0] * cols, PANEL[1] * rows), squeeze=False)
    top = max(float(np.max(layer)) for layers in norms.values() for layer in layers)
    edges = np.linspace(0, max(top, 1e-6) * 1.02, bins + 1)  # the threshold is drawn when in range
    for i, ax in enumerate(axes.flat):
        if i >= depth:
            ax.axis('off')
            continue
        for k, (name, layers) in enumerate(norms.items()):
            if i < len(layers):
                ax.hist(np.ravel(layers[i]), bins=edges, histtype='step', label=name, log=True, color=f'C{k}')
        if threshold is not None and threshold <= edges[-1]:
            ax.axvline(threshold, color='k', ls='--', lw=0.8)
        above = '' if threshold is None or threshold <= edges[-1] else f' (all < {threshold:g})'
        ax.set_title(f'layer {i}: patch-token L2 norm{above}', fontsize=9)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, path)


def plot_attention_maps(images: np.ndarray, maps: Sequence[np.ndarray], path: str, title: str = '',
                        alpha: float = 0.6) -> Tuple[int, int]:
    """Rows: images; columns: the image, then every layer's map upsampled over it.

    images: (B, H, W, 3) floats in [0, 1]; maps: per layer (B, h, w), each map scaled to its own range.
    """
    num, depth = images.shape[0], len(maps)
    fig, axes = plt.subplots(num, depth + 1, figsize=(1.6 * (depth + 1), 1.6 * num + 0.4), squeeze=False)
    h, w = images.shape[1:3]
    for r in range(num):
        axes[r, 0].imshow(images[r])
        axes[r, 0].set_title('image' if r == 0 else '', fontsize=8)
        for c, layer_maps in enumerate(maps, start=1):
            m = np.asarray(layer_maps[r], dtype=np.float64)
            m = (m - m.min()) / (m.max() - m.min() + 1e-12)
            axes[r, c].imshow(images[r])
            axes[r, c].imshow(m, cmap='jet', alpha=alpha, extent=(0, w, h, 0), interpolation='bilinear')
            if r == 0:
                axes[r, c].set_title(f'layer {c - 1}', fontsize=8)
    for ax in axes.flat:
        ax.axis('off')
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def plot_window_maps(maps: Sequence[np.ndarray], high_norm: Sequence[np.ndarray], window_size: int,
                     windowed: Sequence[bool], path: str, title: str = '', cols: int = 6) -> Tuple[int, int]:
    """One panel per block: the attention each patch receives from its own window's queries (one image), as a
    multiple of the uniform share (1 / tokens in the window; colour scale 0 to max(2, the panel's largest));
    window borders in grey, high-norm tokens circled in red.

    maps / high_norm: per block an (h, w) array; windowed: whether each block attends within windows.
    """
    depth = len(maps)
    rows, cols = _grid(depth, cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.2 * cols, 2.2 * rows + 0.4), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis('off')
        if i >= depth:
            continue
        m = np.asarray(maps[i], dtype=np.float64)
        h, w = m.shape
        scaled = np.zeros_like(m)
        for r in range(0, h, window_size):
            for c in range(0, w, window_size):
                block = m[r:r + window_size, c:c + window_size]
                scaled[r:r + window_size, c:c + window_size] = block * block.size
        top = max(2.0, float(scaled.max()))
        ax.imshow(scaled, cmap='magma', vmin=0, vmax=top, interpolation='nearest')
        for r in range(window_size, h, window_size):
            ax.axhline(r - 0.5, color='0.6', lw=0.6)
        for c in range(window_size, w, window_size):
            ax.axvline(c - 0.5, color='0.6', lw=0.6)
        ys, xs = np.nonzero(np.asarray(high_norm[i]))
        ax.scatter(xs, ys, s=18, facecolors='none', edgecolors='red', linewidths=0.8)
        ax.set_title(f'block {i} ({"windowed" if windowed[i] else "global"}), max {top:.3g}x', fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


# metric -> title of the panels over training (SinkStatsHook records), in this order
OVER_TRAINING = {
    'norm_median': 'patch-token norm, median',
    'norm_p90': 'patch-token norm, 90th percentile',
    'norm_p99': 'patch-token norm, 99th percentile',
    'norm_max': 'patch-token norm, max',
    'high_norm_count': 'high-norm tokens (count)',
    'rel_high_norm_fraction': 'tokens above k x median patch norm',
    'kurtosis': 'residual-stream kurtosis',
    'block_max_abs': 'max |x|, block output',
    'mlp_max_abs': 'max |x|, MLP hidden',
    'gate_score_mean': 'mean gate score',
    'gate_sparsity': 'gate sparsity',
    'cls_attention_ratio': '[CLS] attention / mean patch token',
    'register_attention_share': 'attention share of registers',
    'cbs_scale_mean': 'CB_s Lambda, mean',
}


def plot_over_training(series: Dict[str, object], path: str, title: str = '', cols: int = 3) -> Tuple[int, int]:
    """One panel per metric of ``OVER_TRAINING`` present in ``series`` (``sink_stats_series``), one line
    per layer (shallow: dark, deep: light) against epochs or iterations."""
    metrics = [m for m in OVER_TRAINING if m in series['metrics']]
    if not metrics:
        raise ValueError(f'no metric to plot over training; the records hold {sorted(series["metrics"])}')
    rows, cols = _grid(len(metrics), cols)
    fig, axes = plt.subplots(rows, cols, figsize=(PANEL[0] * cols, PANEL[1] * rows), squeeze=False)
    xs = series['x']
    for ax, metric in zip(axes.flat, metrics):
        layers = series['metrics'][metric]
        colours = plt.cm.viridis(np.linspace(0, 0.9, len(layers)))
        for i, values in enumerate(layers):
            points = [(x, v) for x, v in zip(xs, values) if v is not None]
            if points:
                ax.plot(*zip(*points), marker='o', ms=2, lw=1, color=colours[i], label=f'layer {i}')
        ax.set_title(OVER_TRAINING[metric], fontsize=9)
        ax.set_xlabel(series['x_name'], fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=5, ncol=2)
    for ax in list(axes.flat)[len(metrics):]:
        ax.axis('off')
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


# sink kind -> colour of the heat-map cells (0: no event in most images)
KIND_COLOURS = {0: ('no event', (0.45, 0.45, 0.45)), 1: ('broadcast-like', (0.85, 0.15, 0.1)),
                2: ('NOP-like', (0.1, 0.3, 0.85)), 3: ('event, in between', (0.55, 0.2, 0.7))}


def plot_sink_heatmaps(panels: Dict[str, Tuple[np.ndarray, np.ndarray]], path: str, title: str = '',
                       cols: int = 4) -> Tuple[int, int]:
    """One block x head panel per model: the cell's colour is its kind (``KIND_COLOURS``), its strength the
    sink mass (white: 0, full colour: 1), the mass written in the cell.

    panels: name -> (mass (blocks, heads) in [0, 1], kind (blocks, heads) integer codes).
    """
    from matplotlib.patches import Patch
    rows, cols = _grid(len(panels), cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.6 * rows + 0.5), squeeze=False)
    for ax, (name, (mass, kind)) in zip(axes.flat, panels.items()):
        mass = np.nan_to_num(np.asarray(mass, dtype=np.float64))
        base = np.array([KIND_COLOURS[int(k)][1] for k in np.ravel(kind)]).reshape(*mass.shape, 3)
        ax.imshow(1 - mass[..., None] * (1 - base), aspect='auto', interpolation='nearest')
        if mass.size <= 400:
            for (r, c), m in np.ndenumerate(mass):
                ax.text(c, r, f'{m:.2f}', ha='center', va='center', fontsize=6,
                        color='white' if m > 0.6 else 'black')
        ax.set_title(name, fontsize=8)
        ax.set_xlabel('head', fontsize=7)
        ax.set_ylabel('block', fontsize=7)
        ax.set_xticks(range(mass.shape[1]))
        ax.set_yticks(range(mass.shape[0]))
        ax.tick_params(labelsize=6)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis('off')
    fig.legend(handles=[Patch(color=c, label=label) for label, c in KIND_COLOURS.values()], loc='lower center',
               ncol=4, fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return _save(fig, path)


def plot_event_counts(counts: Dict[str, Dict[str, list]], path: str, title: str = '') -> Tuple[int, int]:
    """Sink events per image in each block, one panel per kind (total, broadcast, NOP), every model on the same
    axes (``counts``: name -> ``sink_anatomy.per_block_counts``)."""
    kinds = (('total', 'all sink events'), ('broadcast', 'broadcast-like'), ('nop', 'NOP-like'))
    fig, axes = plt.subplots(1, 3, figsize=(PANEL[0] * 3, PANEL[1]), squeeze=False, sharey=True)
    for ax, (kind, label) in zip(axes.flat, kinds):
        for k, (name, per_kind) in enumerate(counts.items()):
            values = per_kind[kind]
            ax.plot(range(len(values)), values, marker='o', ms=3, label=name, color=f'C{k}')
        ax.set_title(f'{label} per image', fontsize=9)
        ax.set_xlabel('block', fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return _save(fig, path)
