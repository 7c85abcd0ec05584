"""A shorter or longer epoch-based run of the same recipe (the demos' ``--epochs``).

Changing ``max_epochs`` alone would leave the decay where the config put it: six epochs stretched to twelve
would drop the lr at epoch 5 and train seven epochs at a tenth of it. Here a scheduler that ends with training
is stretched over the new run from its own ``begin``: epoch ``begin + t`` becomes ``begin + t * r`` with
``r = (epochs - begin) / (old - begin)``, so its lengths (mmengine counts milestones, ``step_size``, ``T_max``
and ``periods`` from ``begin``) scale by ``r`` and a per-epoch exponential decay becomes ``gamma ** (1 / r)``.
What ends earlier (a warm-up) stays.
"""
from mmengine.config import Config

from ..engine.scheduler_lengths import SCHEDULER_LENGTHS, SUPPORTED, scheduler_family, scheduler_name


def set_max_epochs(cfg: Config, epochs: int) -> Config:
    """Sets ``train_cfg.max_epochs`` to ``epochs`` and stretches what ends with training, in place.

    - every ``by_epoch`` scheduler ending at the old last epoch ends at the new one, its lengths scaled as the
      module docstring says (rounded, at least one epoch); one whose ``begin`` the new run never reaches is
      kept, and so are schedulers ending earlier;
    - ``val_interval`` and the checkpoint ``interval`` equal to the old length become the new one.
    Raises ``ValueError`` for a scheduler whose lengths are not known (named, with the supported ones).
    """
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f'epochs={epochs!r}: train at least one epoch')
    train_cfg = cfg.get('train_cfg') or {}
    old = train_cfg.get('max_epochs')
    if not old:
        raise ValueError(f'train_cfg has no max_epochs ({dict(train_cfg)}): not an epoch-based config')
    schedulers = cfg.get('param_scheduler') or []
    for i, scheduler in enumerate([schedulers] if isinstance(schedulers, dict) else schedulers):
        begin = scheduler.get('begin', 0)
        if not scheduler.get('by_epoch', True) or scheduler.get('end', old) != old or epochs <= begin:
            continue
        family = scheduler_family(scheduler)
        if family is None:
            raise ValueError(f'param_scheduler[{i}]: {scheduler_name(scheduler)} ends with training and its '
                             f'length cannot be rescaled for --epochs {epochs}; supported: {SUPPORTED}')
        _stretch(scheduler, family, (epochs - begin) / (old - begin))
        scheduler['end'] = epochs
    train_cfg.max_epochs = epochs
    if train_cfg.get('val_interval') == old:
        train_cfg.val_interval = epochs
    checkpoint = (cfg.get('default_hooks') or {}).get('checkpoint') or {}
    if checkpoint.get('interval') == old:
        checkpoint['interval'] = epochs
    return cfg


def _stretch(scheduler: dict, family: str, ratio: float) -> None:
    for field in SCHEDULER_LENGTHS[family]:
        value = scheduler.get(field)
        if isinstance(value, (list, tuple)):
            scaled = [max(1, round(v * ratio)) for v in value]
            if field == 'periods':  # the cycles still cover the run: rounding is settled in the last one
                scaled[-1] = max(1, scaled[-1] + round(sum(value) * ratio) - sum(scaled))
            scheduler[field] = scaled
        elif value is not None:
            scheduler[field] = max(1, round(value * ratio))
    if family == 'Exponential':
        scheduler['gamma'] = scheduler.get('gamma') ** (1 / ratio)
