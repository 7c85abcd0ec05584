"""Training scalars kept on the device between logging steps: one host read per logging interval.

mmengine turns every logged tensor into a Python number as it is logged (``MessageHub.update_scalar``), so
each loss term, and the clipped gradient norm, make the host wait for the device once per iteration; a
launch-bound step then waits for every kernel queued before it. Here they are queued as tensors and read
back together at the iterations that need numbers: those that log, save a checkpoint or end an epoch or
the run. The message hub receives the same values, in the same order, as with mmengine's hook.
"""
import weakref
from typing import List, Optional, Tuple

import torch
from mmengine.hooks import LoggerHook
from mmengine.logging import MessageHub

from .hooks.atomic_checkpoint_hook import checkpoint_due

_QUEUES: 'weakref.WeakKeyDictionary[MessageHub, ScalarQueue]' = weakref.WeakKeyDictionary()


class ScalarQueue:
    """(key, tensor) pairs waiting to become message-hub scalars."""

    def __init__(self) -> None:
        self._items: List[Tuple[str, torch.Tensor]] = []

    def __len__(self) -> int:
        return len(self._items)

    def push(self, key: str, value: torch.Tensor) -> None:
        if value.numel() != 1:
            raise ValueError(f'{key}: a logged scalar must have one element, not shape {tuple(value.shape)}')
        self._items.append((key, value.detach()))

    def flush(self, message_hub: MessageHub) -> None:
        """Reads every queued value back with one device-to-host copy and logs them in order."""
        if not self._items:
            return
        numbers = torch.stack([v.reshape(()).float() for _, v in self._items]).tolist()
        for (key, _), number in zip(self._items, numbers):
            message_hub.update_scalar(key, number)
        self._items.clear()


def attach_queue(message_hub: MessageHub) -> ScalarQueue:
    """Starts queueing for ``message_hub``: producers (``DeferredLogOptimWrapper``) push instead of logging.
    A queue left by a run that stopped with an error is replaced."""
    _QUEUES[message_hub] = ScalarQueue()
    return _QUEUES[message_hub]


def detach_queue(message_hub: MessageHub) -> None:
    queue = _QUEUES.pop(message_hub, None)
    if queue is not None:
        queue.flush(message_hub)


def queue_of(message_hub: MessageHub) -> Optional[ScalarQueue]:
    """The queue a hook flushes, or None: then a producer logs at once (mmengine's behaviour)."""
    return _QUEUES.get(message_hub)


def logging_interval(runner) -> int:
    """The ``LoggerHook``'s interval; 1 (read back every iteration) when the runner has no logger."""
    return next((hook.interval for hook in runner.hooks if isinstance(hook, LoggerHook)), 1)


def readback_due(runner, batch_idx: int, interval: int) -> bool:
    """Whether this training iteration needs the scalars as numbers: ``LoggerHook`` logs at it (every
    ``interval`` iterations and at the end of an epoch), a checkpoint is saved after it, or it is the last."""
    return ((batch_idx + 1) % interval == 0
            or batch_idx + 1 == len(runner.train_dataloader)
            or runner.iter + 1 >= runner.max_iters
            or checkpoint_due(runner, by_epoch=False))
