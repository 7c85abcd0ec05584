"""Checkpoint bookkeeping that a kill at any moment cannot break.

mmengine's ``CheckpointHook`` deletes the oldest kept checkpoint *before* writing the new one and
rewrites ``last_checkpoint`` in place, so a ``kill -9`` during a save can leave no usable checkpoint
and ``last_checkpoint`` naming a deleted file. Here the new file is complete (``SafeRunner`` writes it
to a temporary name and renames it) before ``last_checkpoint`` moves to it (also by rename), and only
then is the oldest one removed. ``last_checkpoint`` holds the path relative to the work dir, so a moved
work dir still resumes (``latest_checkpoint``).
"""
import glob
import os
import os.path as osp
from functools import partial

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook
from mmengine.registry import HOOKS

from ...utils.arg_checks import check_arguments, check_bool, check_int
from ..latest_checkpoint import FILENAME, last_checkpoint_entry

# the numeric and boolean arguments of mmengine's CheckpointHook
CHECKPOINT_HOOK_CHECKS = {
    'interval': partial(check_int, min=-1), 'max_keep_ckpts': partial(check_int, min=-1),
    'save_begin': partial(check_int, min=0), 'by_epoch': check_bool, 'save_optimizer': check_bool,
    'save_param_scheduler': check_bool, 'save_last': check_bool,
}

TMP_SUFFIX = '.tmp'


def write_text_atomic(path: str, text: str) -> None:
    """``path`` holds either its old or its new text, never a partial one."""
    tmp = osp.join(osp.dirname(path), f'.{osp.basename(path)}{TMP_SUFFIX}')
    with open(tmp, 'w') as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def checkpoint_due(runner, by_epoch: bool) -> bool:
    """Whether a ``CheckpointHook`` of ``runner`` saves at the end of this iteration (or epoch)."""
    for hook in runner.hooks:
        if not isinstance(hook, CheckpointHook) or hook.by_epoch != by_epoch:
            continue
        if by_epoch and (hook.every_n_epochs(runner, hook.interval, hook.save_begin)
                         or (hook.save_last and hook.is_last_train_epoch(runner))):
            return True
        if not by_epoch and (hook.every_n_train_iters(runner, hook.interval, hook.save_begin)
                             or (hook.save_last and hook.is_last_train_iter(runner))):
            return True
    return False


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` that removes an old checkpoint only after the new one and ``last_checkpoint``
    are on disk (same arguments)."""

    def __init__(self, *args, **kwargs) -> None:
        check_arguments(super().__init__, args, kwargs, CHECKPOINT_HOOK_CHECKS)
        super().__init__(*args, **kwargs)

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if is_main_process() and osp.isdir(self.out_dir):  # left by a run killed while saving
            for leftover in glob.glob(osp.join(self.out_dir, f'.*{TMP_SUFFIX}')):
                os.remove(leftover)

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        stale = None
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                stale = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))

        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir, ckpt_filename, self.file_client_args, save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler, meta=meta, by_epoch=self.by_epoch,
            backend_args=self.backend_args, **self.args)
        if not is_main_process():
            return
        write_text_atomic(osp.join(runner.work_dir, FILENAME), last_checkpoint_entry(self.last_ckpt, runner.work_dir))
        if stale is not None:
            old = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(stale))
            if self.file_backend.isfile(old):
                self.file_backend.remove(old)
            elif self.file_backend.isdir(old):
                self.file_backend.rmtree(old)
