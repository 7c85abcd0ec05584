"""An iteration-based schedule on fewer GPUs: the per-GPU batch kept, gradients accumulated and every
iteration count stretched, so that the optimizer makes the original run's steps with the original lr.

Why the numbers are what they are (mmengine, ``IterBasedTrainLoop``):

- ``OptimWrapper`` with ``accumulative_counts=a`` counts one backward per iteration and steps the optimizer
  when the count is a multiple of ``a`` (``should_update``): optimizer step s (1-based) falls on iteration
  ``s*a - 1`` (0-based). With ``max_iters`` times ``a`` the run makes the original number of steps and
  none is left partial (``initialize_count_status`` gets ``max_iters`` as its ``max_counts``).
- ``ParamSchedulerHook`` steps every ``by_epoch=False`` scheduler after every iteration, updating or not,
  and a scheduler is active while ``begin <= iteration < end`` with ``last_step = iteration - begin``.
- The original run's step s falls on iteration ``s - 1``. So original iteration t becomes ``a*t + a - 1``:
  ``begin -> a*begin + a - 1``, ``end -> a*end``, and every length counted from ``begin`` (milestones,
  ``step_size``, ``T_max``, ``periods``) ``-> a*length``. At each optimizer step ``last_step`` is then
  exactly ``a`` times the original's and ``total_iters = end - begin - 1`` (Linear, Poly, Constant) is
  ``a`` times the original's, so the closed forms give the original value; no milestone falls between two
  steps. Scaling ``begin`` alone to ``a*begin`` would put a warm-up ``a - 1`` iterations ahead (step 1 of a
  LinearLR from 1e-6 would see about ``(a-1)/(a*end)`` instead of 1e-6). Exponential decay per iteration
  becomes ``gamma**(1/a)``.
- Validation, checkpoint, logging intervals count iterations too: multiplied by ``a`` they fall on the
  same optimizer steps as before.

An epoch-based config (classification, Mask R-CNN) keeps its epochs: an epoch is the same images in ``a`` times
the iterations. Its ``by_epoch=False`` schedulers (mmdet's 500-iteration ``LinearLR`` warm-up) count iterations
all the same and are stretched as above (``epoch_scaling_options``); schedulers converted from epochs
(``convert_to_iter_based=True``) are built by the runner from the loader's length, ``a`` times the 8-GPU one:
they need nothing, and run at most one optimizer step ahead of the 8-GPU run (iteration ``s*a - 1`` of an
``a`` times longer schedule where the 8-GPU run is at ``s - 1``).

On more GPUs than the config's 8 nothing is stretched: the per-GPU batch is divided (``split_batch_option``).
"""
from typing import List

from mmengine.config import Config

from ..engine.scheduler_lengths import accumulation_stretch


def accumulation_option(cfg: Config, factor: int) -> str:
    """``factor`` times the config's gradient accumulation: the total batch of ``factor`` times more GPUs."""
    counts = cfg.optim_wrapper.get('accumulative_counts', 1)
    return f'optim_wrapper.accumulative_counts={counts * factor}'


def split_batch_option(cfg: Config, factor: int) -> str:
    """The per-GPU batch of ``factor`` times more GPUs than the config's 8: the same total batch."""
    batch = cfg.train_dataloader.batch_size
    if batch % factor:
        raise ValueError(f'train_dataloader.batch_size={batch} per GPU cannot be split over {factor}x the GPUs '
                         f'keeping the total batch; use --gpus 8d for a divisor d of {batch}, or keep the '
                         'per-GPU batch with --auto-scale-lr')
    return f'train_dataloader.batch_size={batch // factor}'


def iteration_scaling_options(cfg: Config, factor: int) -> List[str]:
    """``--cfg-options`` that run the iteration-based ``cfg`` on ``factor`` times fewer GPUs with the same
    per-GPU batch: accumulation ``x factor`` and the schedule stretched as the module docstring derives."""
    if not isinstance(factor, int) or factor < 1:
        raise ValueError(f'factor={factor!r}: must be a positive integer')
    train_cfg = cfg.get('train_cfg') or {}
    if not train_cfg.get('max_iters'):
        raise ValueError(f'train_cfg has no max_iters ({dict(train_cfg)}): not an iteration-based config')
    options = [accumulation_option(cfg, factor)]
    for key in ('max_iters', 'val_interval', 'val_begin'):
        if key in train_cfg:
            options.append(f'train_cfg.{key}={train_cfg[key] * factor}')
    if train_cfg.get('dynamic_intervals'):
        pairs = ','.join(f'({m * factor},{i * factor})' for m, i in train_cfg.dynamic_intervals)
        options.append(f'train_cfg.dynamic_intervals=[{pairs}]')
    return options + iteration_counted_options(cfg, factor)


def epoch_scaling_options(cfg: Config, factor: int) -> List[str]:
    """``--cfg-options`` that run the epoch-based ``cfg`` on ``factor`` times fewer GPUs with the same per-GPU
    batch: accumulation ``x factor``; an epoch is the same images in ``factor`` times the iterations, so what
    counts iterations (a ``by_epoch=False`` warm-up such as mmdet's 500-iteration ``LinearLR``, the logger) is
    stretched as for iteration-based configs. Schedulers converted from epochs (``convert_to_iter_based``) take
    the loader's longer length themselves and are left alone."""
    if not isinstance(factor, int) or factor < 1:
        raise ValueError(f'factor={factor!r}: must be a positive integer')
    return [accumulation_option(cfg, factor)] + iteration_counted_options(cfg, factor)


def iteration_counted_options(cfg: Config, factor: int) -> List[str]:
    """The iteration-counted schedulers, checkpoint and logger intervals and log window, ``x factor``."""
    options: List[str] = []
    schedulers = cfg.get('param_scheduler') or []
    if isinstance(schedulers, dict):
        options += _scheduler_options('param_scheduler', schedulers, factor)
    else:
        for i, scheduler in enumerate(schedulers):
            options += _scheduler_options(f'param_scheduler.{i}', scheduler, factor)
    hooks = cfg.get('default_hooks') or {}
    checkpoint = hooks.get('checkpoint') or {}
    if checkpoint.get('by_epoch', True) is False:
        options += [f'default_hooks.checkpoint.{key}={checkpoint[key] * factor}'
                    for key in ('interval', 'save_begin') if checkpoint.get(key, 0) > 0]
    logger = hooks.get('logger') or {}
    if isinstance(logger.get('interval'), int):  # LoggerHook counts training iterations
        options.append(f'default_hooks.logger.interval={logger.interval * factor}')
    window = (cfg.get('log_processor') or {}).get('window_size')
    if isinstance(window, int):  # losses averaged over the same optimizer steps
        options.append(f'log_processor.window_size={window * factor}')
    return options


def _scheduler_options(key: str, scheduler: dict, factor: int) -> List[str]:
    if scheduler.get('by_epoch', True):
        return []  # counted in epochs (or converted from epochs with the loader's length): not stretched here
    try:
        fields = accumulation_stretch(scheduler, factor)
    except ValueError as err:
        raise ValueError(f'{key}: {err}') from None
    return [f'{key}.{name}=[{",".join(str(v) for v in value)}]' if isinstance(value, list)
            else f'{key}.{name}={value!r}' for name, value in fields.items()]
