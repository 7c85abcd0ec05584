"""Drives one progress bar from mmengine's loop events: iterations, the smoothed loss, validation inside training.

The demos keep the terminal for one line per phase and send mmengine's own logging to the work dir's log
file; this hook is what still reaches the terminal. It is given a ``rich.progress.Progress`` and the task it
moves, so it is registered on a built runner (``runner.register_hook``) rather than from a config.
"""
from typing import Optional

from mmengine.hooks import Hook

LOSS_WINDOW = 10  # iterations the shown loss is averaged over (mmengine's LoggerHook default window)


class ProgressHook(Hook):
    """Moves ``task`` of ``progress`` with training iterations or test batches; validation gets its own bar."""

    priority = 'VERY_LOW'  # after RuntimeInfoHook has put the iteration's losses in the message hub

    def __init__(self, progress, task) -> None:
        self.progress = progress
        self.task = task
        self._val_task: Optional[int] = None

    def before_train(self, runner) -> None:
        self.progress.update(self.task, total=runner.max_iters, completed=runner.iter)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        info = ''
        if 'train/loss' in runner.message_hub.log_scalars:
            info = f'loss {runner.message_hub.get_scalar("train/loss").mean(LOSS_WINDOW):.3f}'
        self.progress.update(self.task, completed=runner.iter + 1, info=info)

    def before_val_epoch(self, runner) -> None:
        self._val_task = self.progress.add_task('  validation', total=len(runner.val_dataloader), info='', step='')

    def after_val_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self._val_task is not None:
            self.progress.advance(self._val_task)

    def after_val_epoch(self, runner, metrics=None) -> None:
        if self._val_task is not None:
            self.progress.remove_task(self._val_task)
            self._val_task = None

    def before_test_epoch(self, runner) -> None:
        self.progress.update(self.task, total=len(runner.test_dataloader), completed=0)

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self.progress.advance(self.task)
