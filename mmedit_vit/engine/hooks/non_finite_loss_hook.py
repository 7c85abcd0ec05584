"""Stops a diverging run before it logs, saves or trains on a NaN/inf loss."""
from typing import Optional

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from .atomic_checkpoint_hook import checkpoint_due


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or infinite; the message names the iteration and the last good checkpoint."""


def _bad_terms(outputs) -> list:
    if not isinstance(outputs, dict):
        return []
    return [f'{name}={value.float().mean().item():g}' for name, value in outputs.items()
            if isinstance(value, torch.Tensor) and value.is_floating_point() and not torch.isfinite(value).all()]


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Raises ``TrainingDivergedError`` on every rank at once when any rank's loss is not finite.

    Runs before ``CheckpointHook`` (priority), so no checkpoint of the diverged weights is written; the
    weights themselves are checked when a checkpoint is due.
    Under DDP the flag is summed over the ranks every iteration (one scalar all-reduce), so all of
    them stop together instead of leaving the others waiting in a collective.
    """

    priority = 'ABOVE_NORMAL'

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs: Optional[dict] = None) -> None:
        bad = _bad_terms(outputs)
        flag = torch.tensor(float(bool(bad)))
        if get_world_size() > 1:
            all_reduce(flag)
        if flag.item():
            self._stop(runner, f'the loss is not finite at {self._where(runner)}'
                               f' ({", ".join(bad) if bad else "on another rank"})')
        if checkpoint_due(runner, by_epoch=False):
            self._check_weights(runner)

    def after_train_epoch(self, runner) -> None:
        if checkpoint_due(runner, by_epoch=True):
            self._check_weights(runner)

    @staticmethod
    def _where(runner) -> str:
        epoch = f'epoch {runner.epoch + 1}, ' if 'Epoch' in type(runner.train_loop).__name__ else ''
        return f'{epoch}iteration {runner.iter + 1}'

    def _check_weights(self, runner) -> None:
        """A finite loss can still come with a step that made the weights NaN (an inf gradient): checked
        before each save, so a checkpoint never holds them. The weights are the same on every rank."""
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        bad = [name for name, param in model.named_parameters() if not torch.isfinite(param).all()]
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
