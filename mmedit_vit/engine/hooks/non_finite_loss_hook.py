"""Stops a diverging run before it logs, saves or trains on a NaN/inf loss."""
from typing import Optional

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


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

    Runs before ``CheckpointHook`` (priority), so no checkpoint of the diverged weights is written.
    Under DDP the flag is summed over the ranks every iteration (one scalar all-reduce), so all of
    them stop together instead of leaving the others waiting in a collective.
    """

    priority = 'ABOVE_NORMAL'

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs: Optional[dict] = None) -> None:
        bad = _bad_terms(outputs)
        flag = torch.tensor(float(bool(bad)))
        if get_world_size() > 1:
            all_reduce(flag)
        if flag.item() == 0:
            return
        last = runner.message_hub.get_info('last_ckpt')
        where = f'epoch {runner.epoch + 1}, ' if runner.train_loop.__class__.__name__.startswith('Epoch') else ''
        raise TrainingDivergedError(
            f'training diverged: the loss is not finite at {where}iteration {runner.iter + 1} '
            f'({", ".join(bad) if bad else "on another rank"}); stopped without saving. '
            + (f'Last good checkpoint: {last}. Resume from it with a lower learning rate, e.g. '
               f'--resume {last} --cfg-options optim_wrapper.optimizer.lr=...' if last else
               'No checkpoint was saved before; lower the learning rate (optim_wrapper.optimizer.lr) or add '
               'warm-up / gradient clipping (optim_wrapper.clip_grad).'))
