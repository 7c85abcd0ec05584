"""Resuming an iteration-based run without reading the trained batches again.

mmengine's ``IterBasedTrainLoop`` resumes by fetching every batch already trained from the loader
(loading and augmenting it) and dropping it: at iteration 150k of a 160k ADE20K schedule that is 150k
batches per rank through the augmentation pipeline. Here the sampler jumps ahead instead: the same
indices follow, in the same order. Augmentations drawn in the main process (``num_workers=0``) repeat
exactly (``RandomStateHook`` restores its random state); those drawn in loader workers restart their
random streams, so they differ from the uninterrupted run's. Each process's share of the sample order
depends on the number of processes, so a checkpoint is fast-resumed only by as many as wrote it.
"""
import itertools
from functools import partial
from typing import Iterator, Optional

from mmengine.dataset import InfiniteSampler
from mmengine.logging import print_log
from mmengine.registry import LOOPS
from mmengine.runner import IterBasedTrainLoop
from mmengine.runner.loops import _InfiniteDataloaderIterator
from torch.utils.data import BatchSampler

from ..utils.arg_checks import check_arguments, check_int


class _StartAt:
    """This rank's indices of an ``InfiniteSampler`` from the ``start``-th on.

    The sampler's own ``__iter__`` continues one generator shared by all its iterators, which the loader
    that built the loop has already advanced (and closes when it is dropped); this draws the rank's stream
    afresh from the sampler's seed, the order the uninterrupted run saw.
    """

    def __init__(self, sampler: InfiniteSampler, start: int) -> None:
        self.sampler, self.start = sampler, start

    def __iter__(self) -> Iterator[int]:
        return itertools.islice(self.sampler._indices_of_rank(), self.start, None)

    def __len__(self) -> int:
        return len(self.sampler)

    def set_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)


class _Skipped:
    """A data iterator whose first ``count`` fetches return None without loading anything: mmengine's
    loop makes them to skip the trained batches, the sampler has already jumped past those."""

    def __init__(self, iterator, count: int) -> None:
        self._iterator, self._left = iterator, count

    def __iter__(self):
        return self

    def __next__(self) -> Optional[dict]:
        if self._left > 0:
            self._left -= 1
            return None
        return next(self._iterator)

    def __getattr__(self, name: str):
        return getattr(self._iterator, name)


@LOOPS.register_module()
class FastResumeIterBasedTrainLoop(IterBasedTrainLoop):
    """mmengine's ``IterBasedTrainLoop`` (same arguments); on resume the sampler skips the trained batches."""

    def __init__(self, *args, **kwargs) -> None:
        check_arguments(super().__init__, args, kwargs, dict(
            max_iters=partial(check_int, min=1), val_begin=partial(check_int, min=0),
            val_interval=partial(check_int, min=1)))
        super().__init__(*args, **kwargs)

    def _check_world_size(self) -> None:
        written_by = getattr(self.runner, 'resume_meta', {}).get('world_size')
        if written_by is not None and written_by != self.runner.world_size:
            raise ValueError(
                f'fast resume: the checkpoint was written by a run of {written_by} process(es), this run has '
                f'{self.runner.world_size}. Each process continues its own share of the sample order, which '
                f'depends on the number of processes: resume with {written_by} process(es), or without '
                '--fast-resume (the samples and random states then differ from the uninterrupted run)')

    def run(self):
        if self._iter > 0:
            self._check_world_size()
            batch_sampler = self.dataloader.batch_sampler
            sampler = getattr(batch_sampler, 'sampler', None)
            if not isinstance(sampler, InfiniteSampler) or type(batch_sampler) is not BatchSampler:
                raise ValueError('fast resume needs train_dataloader.sampler=InfiniteSampler and the plain batch '
                                 f'sampler (each batch the next batch_size indices), got {type(sampler).__name__} '
                                 f'and {type(batch_sampler).__name__}; resume without it')
            start = self._iter * batch_sampler.batch_size
            batch_sampler.sampler = _StartAt(sampler, start)
            print_log(f'fast resume: the sampler starts at index {start} of this rank; the {self._iter} trained '
                      'batches are not loaded again', logger='current')
            self.dataloader_iterator = _Skipped(_InfiniteDataloaderIterator(self.dataloader), self._iter)
        return super().run()
