"""Which fields of mmengine's parameter schedulers count steps: what a longer or shorter run must rescale."""
import re
from typing import Any, Dict, Optional

# step-valued fields besides begin and end, counted from ``begin``, of each scheduler family (LR and Momentum forms)
SCHEDULER_LENGTHS = {'Linear': (), 'Poly': (), 'Constant': (), 'Exponential': (), 'MultiStep': ('milestones',),
                     'Step': ('step_size',), 'CosineAnnealing': ('T_max',), 'CosineRestart': ('periods',)}
_FAMILY = re.compile(r'^(%s)(LR|LRRatio|Momentum|ParamScheduler)$' % '|'.join(SCHEDULER_LENGTHS))
SUPPORTED = ', '.join(f'{family}LR' for family in SCHEDULER_LENGTHS) + ' (and their Momentum forms)'


def scheduler_name(scheduler: dict) -> str:
    """The scheduler's class name, whether ``type`` is a string ('mmengine.MultiStepLR') or a class."""
    kind = scheduler.get('type')
    return (kind if isinstance(kind, str) else getattr(kind, '__name__', str(kind))).split('.')[-1]


def scheduler_family(scheduler: dict) -> Optional[str]:
    """The key of ``SCHEDULER_LENGTHS`` for ``scheduler`` (``None``: a scheduler whose lengths are unknown)."""
    match = _FAMILY.match(scheduler_name(scheduler))
    return match.group(1) if match else None


def accumulation_stretch(scheduler: dict, factor: int) -> Dict[str, Any]:
    """The fields of an iteration-counted (``by_epoch=False``) scheduler that give every optimizer step its
    original value when gradients accumulate ``factor`` times more iterations per step.

    Optimizer step s (1-based) falls on iteration ``s*factor - 1`` instead of ``s - 1``, and mmengine's
    ``ParamSchedulerHook`` steps the scheduler after every iteration: ``begin -> factor*begin + factor - 1``,
    ``end -> factor*end``, every length counted from ``begin`` times ``factor`` (``T_max`` defaults to
    ``end - begin``), and a per-iteration exponential ``gamma -> gamma**(1/factor)``. Raises ``ValueError`` for
    a scheduler whose lengths are not known.
    """
    family = scheduler_family(scheduler)
    if family is None:
        raise ValueError(f'{scheduler_name(scheduler)} with by_epoch=False cannot be stretched for fewer GPUs; '
                         f'supported: {SUPPORTED}, or keep the iterations with --auto-scale-lr')
    begin = scheduler.get('begin', 0)
    fields: Dict[str, Any] = {'begin': begin * factor + factor - 1}
    if 'end' in scheduler:
        fields['end'] = scheduler['end'] * factor
    for name in SCHEDULER_LENGTHS[family]:
        value = scheduler.get(name)
        if name == 'T_max' and value is None and 'end' in scheduler:
            value = scheduler['end'] - begin  # mmengine's default, counted over the unscaled begin
        if isinstance(value, (list, tuple)):
            fields[name] = [v * factor for v in value]
        elif value is not None:
            fields[name] = value * factor
    if family == 'Exponential':
        fields['gamma'] = scheduler.get('gamma') ** (1 / factor)
    return fields
