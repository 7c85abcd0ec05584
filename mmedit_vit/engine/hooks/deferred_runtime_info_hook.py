"""mmengine's ``RuntimeInfoHook`` with the iteration's losses read back once per logging interval."""
from typing import Optional

import torch
from mmengine.hooks import RuntimeInfoHook
from mmengine.registry import HOOKS

from ..scalar_readback import attach_queue, detach_queue, logging_interval, readback_due


@HOOKS.register_module()
class DeferredRuntimeInfoHook(RuntimeInfoHook):
    """Queues the loss terms (and, through ``DeferredLogOptimWrapper``, the gradient norm) as tensors and
    logs them at the iterations that need numbers (``scalar_readback.readback_due``): one host-device sync
    per logging interval instead of one per term and iteration. Logs, checkpoints and resumes see the same
    values as with ``RuntimeInfoHook``; a hook that reads ``train/*`` scalars between logging iterations
    sees those of the last one.
    """

    def before_train(self, runner) -> None:
        super().before_train(runner)
        self._queue = attach_queue(runner.message_hub)
        self._interval = logging_interval(runner)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs: Optional[dict] = None) -> None:
        for key, value in (outputs or {}).items():
            if isinstance(value, torch.Tensor):
                self._queue.push(f'train/{key}', value)
            else:
                runner.message_hub.update_scalar(f'train/{key}', value)
        if readback_due(runner, batch_idx, self._interval):
            self._queue.flush(runner.message_hub)

    def after_train(self, runner) -> None:
        detach_queue(runner.message_hub)
        super().after_train(runner)
