"""Random states in checkpoints, so a resumed run repeats the uninterrupted one exactly.

mmengine saves only the seed and, on resume, reseeds: drop-path masks, dropout and main-process
augmentations after the resume then differ from the run that was not stopped. This hook stores the
python, numpy, torch CPU and CUDA generator states of every rank in each checkpoint and restores them
at the point the uninterrupted run was at: the first batch fetched after mmengine's loop has skipped
the batches already trained (iteration-based loops), or the start of training (epoch-based loops).
Validation runs between saving and the next training step, so it is made neutral for the random
states; training then does not depend on how often it is validated. A snapshot serves the saves of
the moment it was taken only: it is dropped at the next training step, after validation and at the
end of training, and a save without one records the states of that moment.
"""
import logging
import random
from typing import Any, Callable, Dict, List, Optional

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.registry import HOOKS

from .atomic_checkpoint_hook import checkpoint_due

KEY = 'random_states'


def capture_random_state() -> Dict[str, Any]:
    """The state of every generator a training step may draw from."""
    state = dict(python=random.getstate(), numpy=np.random.get_state(), torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def restore_random_state(state: Dict[str, Any]) -> None:
    random.setstate(state['python'])
    np.random.set_state(state['numpy'])
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


def _tuples(value):
    """``random.setstate`` wants tuples; a checkpoint round trip keeps them, this guards lists."""
    return tuple(_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value


class _RestoreOnFetch:
    """Wraps a loop's data iterator: restores the random states just before fetch number ``skip + 1``,
    i.e. after mmengine has replayed the ``skip`` batches that were already trained."""

    def __init__(self, iterator, skip: int, restore: Callable[[], None]) -> None:
        self._iterator, self._left, self._restore = iterator, skip, restore

    def __iter__(self):
        return self

    def __next__(self):
        if self._left == 0:
            self._restore()
            self._left = -1
        elif self._left > 0:
            self._left -= 1
        return next(self._iterator)

    def __getattr__(self, name: str):
        return getattr(self._iterator, name)


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Saves all ranks' generator states with each checkpoint and restores them on resume."""

    priority = 'LOW'  # after the optimizer/logging hooks, before CheckpointHook (VERY_LOW)

    def __init__(self) -> None:
        self._pending: Optional[List[Dict[str, Any]]] = None
        self._resumed: Optional[List[Dict[str, Any]]] = None
        self._val_state: Optional[Dict[str, Any]] = None

    # ---------------------------------------------------------------------------------- saving
    def _snapshot(self) -> None:
        # every rank takes part (collective); only rank 0 writes the checkpoint
        self._pending = all_gather_object(capture_random_state())

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if checkpoint_due(runner, by_epoch=False):
            self._snapshot()

    def after_train_epoch(self, runner) -> None:
        if checkpoint_due(runner, by_epoch=True):
            self._snapshot()

    def before_val(self, runner) -> None:
        if getattr(runner, '_train_loop', None) is None or isinstance(runner._train_loop, dict):
            return  # validation outside training (tools/test.py): nothing to protect
        self._snapshot()  # best-checkpoint saves during validation use this state
        self._val_state = capture_random_state()

    def after_val(self, runner) -> None:
        self._pending = None
        if self._val_state is not None:
            restore_random_state(self._val_state)
            self._val_state = None

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        self._pending = None

    def after_train(self, runner) -> None:
        self._pending = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint[KEY] = self._pending if self._pending is not None else [capture_random_state()]

    # -------------------------------------------------------------------------------- resuming
    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not getattr(runner, '_resume', False):
            return
        states = checkpoint.get(KEY)
        if states is None:
            print_log('the checkpoint has no random states (written without RandomStateHook): the resumed run '
                      'draws other random numbers than the uninterrupted one', logger='current', level=logging.WARNING)
        elif len(states) != get_world_size():
            print_log(f'the checkpoint holds the random states of {len(states)} processes, this run has '
                      f'{get_world_size()}: they are not restored, the resumed run will differ from the '
                      'uninterrupted one', logger='current', level=logging.WARNING)
        else:
            self._resumed = states

    def _restore(self) -> None:
        state = self._resumed[get_rank()]
        restore_random_state(dict(state, python=_tuples(state['python'])))
        self._resumed = None

    def before_train(self, runner) -> None:
        if self._resumed is None:
            return
        loop = runner.train_loop
        if hasattr(loop, 'dataloader_iterator') and runner.iter > 0:
            loop.dataloader_iterator = _RestoreOnFetch(loop.dataloader_iterator, runner.iter, self._restore)
        else:
            self._restore()
