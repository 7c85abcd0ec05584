"""Which fields of mmengine's parameter schedulers count steps: what a longer or shorter run must rescale."""
import re
from typing import Optional

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
