"""Stops a diverging run before it logs or saves a NaN/inf loss or weights."""
import math
from typing import List, Optional, Tuple

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from ..scalar_readback import logging_interval, readback_due
from .atomic_checkpoint_hook import checkpoint_due


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or infinite; the message names the iteration and the last good checkpoint."""


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Raises ``TrainingDivergedError`` on every rank at once when any rank's loss is not finite.

    The losses are checked where they are read back anyway: at the iterations that log, save or end an
    epoch (``scalar_readback.readback_due``), over every iteration since the last check, from the values the
    message hub holds; so the check adds no host-device sync of its own, and the error names the first
    iteration that diverged. The run stops before the ``LoggerHook`` logs and, running before
    ``CheckpointHook`` (priority), before anything is saved; the iterations in between train on, at most
    one logging interval. The weights themselves are checked when a checkpoint is due. Under DDP the flag
    is summed over the ranks at each check (one scalar all-reduce), so all of them stop together instead
    of leaving the others waiting in a collective.
    """

    priority = 'ABOVE_NORMAL'

    def before_train(self, runner) -> None:
        self._interval = logging_interval(runner)
        self._since = runner.iter  # first iteration not checked yet

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs: Optional[dict] = None) -> None:
        if not readback_due(runner, batch_idx, self._interval):
            return
        first_bad = self._first_bad_iteration(runner, outputs)
        diverged = first_bad is not None
        if get_world_size() > 1:
            flag = torch.tensor(float(diverged))
            all_reduce(flag)
            diverged = bool(flag.item())
        if diverged:
            if first_bad is None:
                self._stop(runner, f'the loss is not finite on another rank (checked at {self._where(runner)})')
            iteration, terms = first_bad
            self._stop(runner, f'the loss is not finite at {self._where(runner, iteration)} ({", ".join(terms)})')
        self._since = runner.iter + 1
        if checkpoint_due(runner, by_epoch=False):
            self._check_weights(runner)

    def after_train_epoch(self, runner) -> None:
        if checkpoint_due(runner, by_epoch=True):
            self._check_weights(runner)

    def _first_bad_iteration(self, runner, outputs: Optional[dict]) -> Optional[Tuple[int, List[str]]]:
        """(0-based iteration, its 'name=value' terms) of the first non-finite loss term since the last check."""
        pending = runner.iter + 1 - self._since
        rows = {}  # name -> its values over the pending iterations, oldest first (None: not known)
        for name, value in (outputs or {}).items():
            if not (isinstance(value, torch.Tensor) and value.is_floating_point()):
                continue
            buffer = runner.message_hub.log_scalars.get(f'train/{name}')
            known = [float(v) for v in buffer.data[0][-pending:]] if buffer is not None else []
            if not known:  # not logged by a runtime-info hook: only this iteration's value is known
                known = [float(value.float().mean())]
            rows[name] = [None] * (pending - len(known)) + known
        for i in range(pending):
            if any(row[i] is not None and not math.isfinite(row[i]) for row in rows.values()):
                return self._since + i, [f'{name}={row[i]:g}' for name, row in rows.items() if row[i] is not None]
        return None

    @staticmethod
    def _where(runner, iteration: Optional[int] = None) -> str:
        epoch = f'epoch {runner.epoch + 1}, ' if 'Epoch' in type(runner.train_loop).__name__ else ''
        return f'{epoch}iteration {(runner.iter if iteration is None else iteration) + 1}'

    def _check_weights(self, runner) -> None:
        """A finite loss can still come with a step that made the weights NaN (an inf gradient): checked
        before each save (one host read), so a checkpoint never holds them. The weights are the same on
        every rank."""
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        params = list(model.named_parameters())
        finite = torch.stack([torch.isfinite(p).all() for _, p in params]).tolist() if params else []
        bad = [name for (name, _), ok in zip(params, finite) if not ok]
        if bad:
            self._stop(runner, f'the weights are not finite after {self._where(runner)} ({len(bad)} tensors, '
                               f'first {", ".join(bad[:3])})')

    @staticmethod
    def _stop(runner, what: str) -> None:
        last = runner.message_hub.get_info('last_ckpt')
        raise TrainingDivergedError(
            f'training diverged: {what}; stopped without saving. '
            + (f'Last good checkpoint: {last}. Resume from it with a lower learning rate, e.g. '
               f'--resume {last} --cfg-options optim_wrapper.optimizer.lr=...' if last else
               'No checkpoint was saved before; lower the learning rate (optim_wrapper.optimizer.lr) or add '
               'warm-up / gradient clipping (optim_wrapper.clip_grad).'))
