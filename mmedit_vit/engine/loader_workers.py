"""Stopping a finished run's data-loader worker processes at once, not when the garbage collector finds them.

A runner and its loops reference each other, so a run's data loaders are freed by the cyclic garbage collector.
The collector runs the finalizer of each ``multiprocessing`` queue before the iterator's own ``__del__``, which
then asks the workers to stop through queues whose feeder threads are already gone: each worker is only killed
after ``join``'s 5 s timeout. A process that builds several runs (``tools/test.py --corruptions``, the demos, a
sweep in a notebook) waited 5 s per worker of every loader with persistent workers, or of one left mid-epoch.
"""
from torch.utils.data import DataLoader


def _running(iterator: object) -> bool:
    """Whether ``iterator`` is a data-loader iterator whose worker processes have not been stopped."""
    return hasattr(iterator, '_shutdown_workers') and not getattr(iterator, '_shutdown', False)


def release_loader_workers(runner) -> int:
    """Stops the worker processes of the runner's built train / val / test loaders; returns how many
    iterators were stopped. For the end of ``train()`` / ``val()`` / ``test()``: a later ``iter(loader)``
    starts new workers, as for a loader never iterated (a finished train loop does not iterate again)."""
    stopped = 0
    for loop in (runner._train_loop, runner._val_loop, runner._test_loop):
        loader = getattr(loop, 'dataloader', None)  # a loop not built yet is still its config dict
        if not isinstance(loader, DataLoader):
            continue
        # a persistent loader keeps its iterator; IterBasedTrainLoop's endless iterator holds the current one
        endless = getattr(getattr(loop, 'dataloader_iterator', None), '_iterator', None)
        for iterator in (loader._iterator, endless):
            if _running(iterator):  # the same object twice is stopped once: then it is no longer running
                iterator._shutdown_workers()
                stopped += 1
        loader._iterator = None
    return stopped
