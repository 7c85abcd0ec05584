"""Corruption robustness of a trained model (ImageNet-C / ADE20K-C / COCO-C): one model, one evaluation
per corruption and severity, one ``corruptions.json``.

``tools/test.py CONFIG CKPT --corruptions ... --severities ...`` builds the Runner once, runs its test loop
on the clean data, then swaps a ``Corrupt`` step into the test dataset's pipeline (right after loading)
for each (corruption, severity) and runs the same loop again: the model is loaded once. With ``--test-set
imagenet-c`` a classifier reads the released ImageNet-C folders instead (``imagenet_c.py``).

``corruptions.json``::

    {"task": "mmseg", "metric": "mIoU", "seed": 0, "format": "raw", "test_set": null, "clean": {metrics},
     "results": {name: {"1": {metrics}, ...}},
     "summary": {"clean": c, "benchmark_mean": m, "drop": c - m, "families": {...}, "severities": {...},
                 "P": c, "mPC": m, "rPC": 100 m / c,           # detection and segmentation
                 "CE": {name: ...}, "mCE": ...,                # with a reference run
                 "errors": ..., "alexnet": {...}}}             # --test-set imagenet-c

P, mPC and rPC are Michaelis et al. (2019)'s names: the clean score, its mean over the 15 benchmark
corruptions and all severities run, and their ratio in percent. Corruption error against a reference run
(Hendrycks & Dietterich): ``CE_c = sum_s E_{c,s} / sum_s E^ref_{c,s}`` with the error ``E = best - metric``
(100 - mIoU, 100 - top-1, 1 - box AP); their mean is "mCE" over all 15 benchmark corruptions and "mean CE
over N corruptions" over fewer (percent; 100 = as robust as the reference model).
"""
import json
import os
import os.path as osp
import time
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
from mmengine.config import Config
from mmengine.dist import is_main_process

from ..datasets.transforms.corruptions import (
    BENCHMARK_CORRUPTIONS,
    CORRUPTION_FAMILIES,
    FORMATS,
    SEVERITIES,
    Corrupt,
    family_of,
)
from . import imagenet_c

RESULT_NAME = 'corruptions.json'
PLOT_NAME = 'corruptions.png'
TABLE_NAME = 'corruptions.md'
# default_scope -> (main metric, its best value)
MAIN_METRICS = {'mmseg': ('mIoU', 100.0), 'mmdet': ('coco/bbox_mAP', 1.0), 'mmedit_vit': ('accuracy/top1', 100.0)}
LOADING_STEPS = ('LoadImageFromFile', 'LoadPILImage')
DENSE_TASKS = ('mmseg', 'mmdet')  # P / mPC / rPC (Michaelis et al.)


def main_metric(cfg: Config) -> Tuple[str, float]:
    """The task's headline metric and its best value, from the config's ``default_scope``."""
    scope = cfg.get('default_scope')
    if scope not in MAIN_METRICS:
        raise ValueError(f'corruption evaluation knows the tasks {sorted(MAIN_METRICS)} (default_scope); '
                         f'this config has default_scope={scope!r}')
    return MAIN_METRICS[scope]


def prepare_config(cfg: Config) -> Config:
    """The test dataloader without persistent workers (they would keep the first pipeline) and with a
    loading step to put the corruption after."""
    loader = cfg.test_dataloader
    loader.persistent_workers = False
    types = [step.get('type') for step in loader.dataset.get('pipeline', [])]
    if not any(t in LOADING_STEPS for t in types):
        raise ValueError(f'--corruptions needs one of {LOADING_STEPS} in the test pipeline; found {types}')
    return cfg


def set_corruption(dataset, step: Optional[Corrupt]) -> None:
    """Puts ``step`` right after the loading step of ``dataset``'s pipeline (``None``: clean), replacing the
    previous corruption."""
    transforms = [t for t in dataset.pipeline.transforms if not isinstance(t, Corrupt)]
    names = [type(t).__name__ for t in transforms]
    at = next(i for i, name in enumerate(names) if name in LOADING_STEPS) + 1
    dataset.pipeline.transforms = transforms[:at] + ([step] if step is not None else []) + transforms[at:]


def with_empty_detections(metrics: dict, task: str, metric: str) -> dict:
    """mmdet's ``CocoMetric`` returns no metrics at all when the detector finds nothing in any image (a
    corruption can do that): the box AP of no detection is 0, recorded as such with ``no_detections``."""
    if metrics or task != 'mmdet':
        return metrics
    return {metric: 0.0, 'no_detections': True}


def _plain(metrics: dict) -> dict:
    return {key: float(value) if isinstance(value, (int, float, np.floating, np.integer)) else value
            for key, value in metrics.items()}


def summarize(report: dict, reference: Optional[dict] = None) -> dict:
    """Mean of the main metric over the benchmark corruptions present and all severities, its drop from
    clean, means per family and per severity; P / mPC / rPC for detection and segmentation; CE and mCE
    against ``reference`` (a ``corruptions.json``); AlexNet-normalised errors for ImageNet-C as released."""
    metric, best = report['metric'], report['best']
    results = report['results']
    value = {name: {s: runs[s][metric] for s in runs} for name, runs in results.items()}
    benchmark = [name for name in BENCHMARK_CORRUPTIONS if name in value]
    summary = {'metric': metric, 'clean': report['clean'][metric], 'benchmark_corruptions': benchmark}
    if benchmark:
        all_values = [v for name in benchmark for v in value[name].values()]
        summary['benchmark_mean'] = float(np.mean(all_values))
        summary['drop'] = summary['clean'] - summary['benchmark_mean']
        if report.get('task') in DENSE_TASKS:
            summary.update(P=summary['clean'], mPC=summary['benchmark_mean'])
            summary['rPC'] = 100.0 * summary['mPC'] / summary['P'] if summary['P'] > 0 else None
    summary['families'] = {family: float(np.mean([v for n in names if n in value for v in value[n].values()]))
                           for family, names in CORRUPTION_FAMILIES.items() if any(n in value for n in names)}
    severities = sorted({s for runs in value.values() for s in runs}, key=int)
    summary['severities'] = {s: float(np.mean([value[n][s] for n in benchmark if s in value[n]]))
                             for s in severities if any(s in value[n] for n in benchmark)}
    if report.get('test_set') == 'imagenet-c':
        summary.update(imagenet_c.alexnet_summary(value, summary['clean']))
    if reference is not None:
        summary.update(corruption_errors(value, metric, best, reference))
    return summary


def mean_ce_name(count: int) -> str:
    """'mCE' for the 15 benchmark corruptions, 'mean CE over N corruptions' for fewer."""
    return 'mCE' if count == len(BENCHMARK_CORRUPTIONS) else f'mean CE over {count} corruptions'


def corruption_errors(value: Dict[str, Dict[str, float]], metric: str, best: float, reference: dict) -> dict:
    """CE per corruption (percent) relative to ``reference`` and their mean over the benchmark corruptions
    ('mCE' when all 15 are there, else 'mean_CE' with 'mean_CE_corruptions'); every (corruption, severity)
    evaluated here must be in the reference run, measured with the same metric."""
    if reference.get('metric') != metric:
        raise ValueError(f'the reference run measured {reference.get("metric")!r}, this run {metric!r}: '
                         'CE compares runs of the same task')
    ces = {}
    for name, runs in value.items():
        ref_runs = reference['results'].get(name, {})
        missing = [s for s in runs if s not in ref_runs]
        if missing:
            raise ValueError(f'the reference run has no {name} at severities {missing}; it has '
                             f'{sorted(ref_runs, key=int)}')
        ref_error = sum(best - ref_runs[s][metric] for s in runs)
        if ref_error <= 0:
            raise ValueError(f'the reference run has no error on {name}: CE is undefined')
        ces[name] = 100.0 * sum(best - runs[s] for s in runs) / ref_error
    benchmark = [name for name in BENCHMARK_CORRUPTIONS if name in ces]
    out = {'CE': ces, 'reference': reference.get('checkpoint')}
    if len(benchmark) == len(BENCHMARK_CORRUPTIONS):
        out['mCE'] = float(np.mean([ces[name] for name in benchmark]))
    elif benchmark:
        out.update(mean_CE=float(np.mean([ces[name] for name in benchmark])), mean_CE_corruptions=len(benchmark))
    return out


def check_reference(reference: dict, metric: str, corruptions: Sequence[str], severities: Sequence[int],
                    seed: int, image_format: str, test_set: Optional[str]) -> None:
    """A reference run is comparable when it measured the same metric on the same images: the same
    corruption seed, image format and test set, and every (corruption, severity) of this run."""
    if reference.get('metric') != metric:
        raise ValueError(f'--ce-reference measured {reference.get("metric")!r}, this task {metric!r}')
    theirs = {'--corruption-seed': reference.get('seed', 0), '--corruption-format': reference.get('format', 'raw'),
              '--test-set': reference.get('test_set')}
    ours = {'--corruption-seed': seed, '--corruption-format': image_format, '--test-set': test_set}
    differ = [f'{flag} {theirs[flag]} there, {ours[flag]} here' for flag in ours if theirs[flag] != ours[flag]]
    if differ:
        raise ValueError(f'--ce-reference was evaluated on other images ({"; ".join(differ)}): CE compares '
                         'two models on the same images')
    missing = [f'{n} {s}' for n in corruptions for s in severities if str(s) not in reference['results'].get(n, {})]
    if missing:
        raise ValueError(f'--ce-reference has no evaluation of {missing}; run it with the same --corruptions '
                         'and --severities')


def load_reference(path: str) -> dict:
    """A ``corruptions.json`` given as the file or the folder that holds it."""
    file = osp.join(path, RESULT_NAME) if osp.isdir(path) else path
    if not osp.isfile(file):
        raise FileNotFoundError(f'--ce-reference {path!r}: no {RESULT_NAME} there (run tools/test.py '
                                '--corruptions on the reference model first)')
    with open(file) as f:
        return json.load(f)


def run_corruptions(runner, cfg: Config, corruptions: Sequence[str], severities: Sequence[int],
                    checkpoint: str = '', reference: Optional[dict] = None, seed: int = 0,
                    plot: bool = True, image_format: str = 'raw', released_root: Optional[str] = None) -> dict:
    """Clean evaluation, then one per (corruption, severity) with the runner's test loop; writes
    ``<work_dir>/corruptions.json`` after every evaluation (a stopped run keeps what it measured) and
    ``corruptions.png`` at the end. Returns the report.

    ``image_format``: 'raw' or 'jpeg85' (each corrupted image saved as JPEG quality 85 first);
    ``released_root``: read the released ImageNet-C folders there instead of corrupting on the fly.
    Every argument is checked before the clean evaluation."""
    bad = [s for s in severities if s not in SEVERITIES]
    if bad:
        raise ValueError(f'severities {bad} are not ImageNet-C severities {SEVERITIES}')
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f'--corruption-seed {seed!r} must be an integer >= 0')
    if image_format not in FORMATS:
        raise ValueError(f'--corruption-format {image_format!r} is not known; choose one of {sorted(FORMATS)}')
    metric, best = main_metric(cfg)
    test_set = None
    if released_root is not None:
        if cfg.get('default_scope') != 'mmedit_vit':
            raise ValueError('--test-set imagenet-c evaluates classifiers; this config has default_scope='
                             f'{cfg.get("default_scope")!r}')
        if seed != 0 or image_format != 'raw':
            raise ValueError('--test-set imagenet-c reads the released images: --corruption-seed and '
                             '--corruption-format do not apply')
        imagenet_c.check_released_folders(released_root, corruptions, severities)
        test_set = 'imagenet-c'
    if reference is not None:  # before the first evaluation: the reference must have seen the same images
        check_reference(reference, metric, corruptions, severities, seed, image_format, test_set)
    out = osp.join(runner.work_dir, RESULT_NAME)
    total = 1 + len(corruptions) * len(severities)

    def say(i: int, what: str, metrics: dict, seconds: float) -> None:
        if metric not in metrics:
            raise KeyError(f'the test metrics have no {metric!r}: {sorted(metrics)}')
        line = f'corruptions [{i}/{total}] {what:<26} {metric} {metrics[metric]:.4g}  ({seconds:.0f} s)'
        runner.logger.info(line)

    start = time.time()
    task = cfg.get('default_scope')
    clean = with_empty_detections(_plain(runner.test()), task, metric)
    say(1, 'clean', clean, time.time() - start)
    report = {'task': cfg.get('default_scope'), 'metric': metric, 'best': best, 'checkpoint': checkpoint,
              'seed': seed, 'format': image_format, 'test_set': test_set, 'test_root': released_root,
              'corruptions': list(corruptions), 'severities': list(severities), 'complete': False,
              'clean': clean, 'results': {}}
    clean_loader = runner.test_loop.dataloader
    i = 1
    for name in corruptions:
        for severity in severities:
            i += 1
            start = time.time()
            if released_root is not None:
                runner.test_loop.dataloader = runner.build_dataloader(
                    imagenet_c.released_dataloader(cfg, released_root, name, severity), seed=runner.seed)
            else:
                step = Corrupt(name, severity, seed=seed, channel_order=_channel_order(cfg),
                               jpeg_quality=FORMATS[image_format])
                set_corruption(clean_loader.dataset, step)
            metrics = with_empty_detections(_plain(runner.test_loop.run()), task, metric)
            report['results'].setdefault(name, {})[str(severity)] = metrics
            say(i, f'{name} {severity}', metrics, time.time() - start)
            report['summary'] = summarize(report, reference)
            _write(report, out)
    runner.test_loop.dataloader = clean_loader
    set_corruption(clean_loader.dataset, None)
    report['summary'] = summarize(report, reference)
    report['complete'] = True
    _write(report, out)
    table = markdown_table(report)
    runner.logger.info('corruptions: ' + osp.join(runner.work_dir, RESULT_NAME) + '\n' + table)
    if is_main_process():
        with open(osp.join(runner.work_dir, TABLE_NAME), 'w') as f:
            f.write(table)
    if plot and is_main_process():
        from ..analysis.corruption_plot import plot_corruptions
        plot_corruptions({osp.basename(checkpoint) or 'model': report}, osp.join(runner.work_dir, PLOT_NAME))
    return report


def markdown_table(report: dict, digits: Optional[int] = None) -> str:
    """The main metric per corruption (rows) and severity (columns) with each row's mean, then the clean
    score and the benchmark mean (P / mPC / rPC for detection and segmentation), CE with a reference, and
    the AlexNet-normalised errors for the released ImageNet-C. ``digits``: 3 for metrics in [0, 1] (box AP),
    else 2."""
    metric, results = report['metric'], report['results']
    digits = digits if digits is not None else (3 if report.get('best') == 1.0 else 2)
    severities = sorted({s for runs in results.values() for s in runs}, key=int)
    lines = ['| corruption | family | ' + ' | '.join(f'severity {s}' for s in severities) + ' | mean |',
             '|---|---|' + '---:|' * (len(severities) + 1)]
    for name, runs in results.items():
        values = [runs[s][metric] if s in runs else None for s in severities]
        cells = ['—' if v is None else f'{v:.{digits}f}' for v in values]
        mean = np.mean([v for v in values if v is not None])
        lines.append(f'| {name} | {family_of(name)} | ' + ' | '.join(cells) + f' | {mean:.{digits}f} |')
    summary = report.get('summary', {})
    lines += ['', f"{metric}: clean {summary.get('clean', report['clean'][metric]):.{digits}f}"]
    if 'mPC' in summary:
        lines[-1] = f"{metric}: P {summary['P']:.{digits}f}, mPC {summary['mPC']:.{digits}f}"
        if summary['rPC'] is not None:
            lines[-1] += f", rPC {summary['rPC']:.1f} %"
        lines[-1] += f" ({len(summary['benchmark_corruptions'])} benchmark corruptions)"
    elif 'benchmark_mean' in summary:
        lines[-1] += (f", benchmark mean {summary['benchmark_mean']:.{digits}f}, drop {summary['drop']:.{digits}f}"
                      f" ({len(summary['benchmark_corruptions'])} benchmark corruptions)")
    if 'mCE' in summary:
        lines[-1] += f", mCE {summary['mCE']:.1f}"
    elif 'mean_CE' in summary:
        lines[-1] += f", {mean_ce_name(summary['mean_CE_corruptions'])} {summary['mean_CE']:.1f}"
    if 'alexnet' in summary:
        lines += imagenet_c.markdown_lines(summary, digits)
    return '\n'.join(lines) + '\n'


def _channel_order(cfg: Config) -> str:
    """mmcv loads BGR arrays unless the loading step says otherwise; PIL images are RGB anyway."""
    for step in cfg.test_dataloader.dataset.get('pipeline', []):
        if step.get('type') == 'LoadImageFromFile':
            return step.get('channel_order', 'bgr')
    return 'rgb'


def _write(report: dict, path: str) -> None:
    if is_main_process():
        os.makedirs(osp.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            json.dump(report, f, indent=1)
