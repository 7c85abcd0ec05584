"""A run's timestamp that no earlier run in the same process holds.

mmengine names a run's message hub, logger, visualizer and default scope after its timestamp (to the
second) and takes an instance that already has the name. Two runs built in one process within one second
(a notebook, a sweep, a tool called from Python) would share them: the second run logs into the first
one's file, inherits its scope, and its checkpoint hook reads the first one's ``keep_ckpt_ids`` and
deletes its own checkpoints by those numbers. A taken timestamp gets a suffix, ``_2``, ``_3``, ...,
which also keeps the runs' log folders apart.
"""
from typing import Set

from mmengine.logging import MessageHub, MMLogger
from mmengine.registry import DefaultScope
from mmengine.visualization import Visualizer


def instance_names() -> Set[str]:
    """Names of the process's mmengine instances that a run names after its experiment."""
    return {name for cls in (MessageHub, MMLogger, Visualizer, DefaultScope)
            for name in cls._instance_dict}


def unique_timestamp(timestamp: str) -> str:
    """``timestamp`` if no instance name ends with it, else the first free ``timestamp_<n>``, n >= 2.

    Every rank of a distributed run has built the same runs, so all ranks pick the same suffix."""
    taken = instance_names()
    candidate, n = timestamp, 1
    while any(name == candidate or name.endswith('_' + candidate) for name in taken):
        n += 1
        candidate = f'{timestamp}_{n}'
    return candidate
