"""``last_checkpoint`` that survives moving or copying the work dir.

mmengine writes the absolute path of the newest checkpoint into ``<work_dir>/last_checkpoint``; a work
dir moved from cluster scratch to home, or copied to another machine, then names a file that is not
there. Here the file holds the path relative to the work dir, and reading it resolves a relative path
against the work dir it is in and an absolute path that no longer exists by its file name in that
work dir (work dirs written before this change).
"""
import logging
import os
import os.path as osp
import re
from typing import List, Optional

from mmengine.logging import print_log

FILENAME = 'last_checkpoint'


def last_checkpoint_entry(checkpoint: str, work_dir: str) -> str:
    """What ``last_checkpoint`` holds for ``checkpoint``: its path relative to ``work_dir`` where it lies
    inside it, else the path as given (a remote or an outside ``out_dir``)."""
    if '://' in checkpoint:
        return checkpoint
    relative = osp.relpath(osp.abspath(checkpoint), osp.abspath(work_dir))
    return checkpoint if relative.startswith(osp.pardir) else relative


def latest_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``<work_dir>/last_checkpoint`` names, resolved in ``work_dir``; None without one.

    An absolute path that is not there but whose file name is in ``work_dir`` is taken from ``work_dir``
    (the dir was moved); a checkpoint found nowhere is a ``FileNotFoundError`` naming both places.
    """
    record = osp.join(work_dir, FILENAME)
    if not osp.isfile(record):
        return None
    with open(record) as f:
        named = f.read().strip()
    if not named:
        return None
    if '://' in named:
        return named
    if not osp.isabs(named):
        path = osp.join(work_dir, named)
        if not osp.isfile(path):
            raise FileNotFoundError(f'{record} names {named!r}, which is not in {work_dir}')
        return path
    if osp.isfile(named):
        return named
    moved = osp.join(work_dir, osp.basename(named))
    if osp.isfile(moved):
        print_log(f'{record} names {named}, which is not there; the work dir was moved: resuming from {moved}',
                  logger='current')
        return moved
    raise FileNotFoundError(f'{record} names {named}, which is not there, and {work_dir} has no '
                            f'{osp.basename(named)} either')


_CHECKPOINT = re.compile(r'^(iter|epoch)_(\d+)\.pth$')


def training_checkpoints(work_dir: str) -> List[str]:
    """The ``iter_<n>.pth`` / ``epoch_<n>.pth`` files of ``work_dir``, the latest (largest n) first."""
    found = [(int(m.group(2)), name) for name in os.listdir(work_dir) if (m := _CHECKPOINT.match(name))]
    return [osp.join(work_dir, name) for _, name in sorted(found, reverse=True)]


def newest_readable_checkpoint(work_dir: str) -> Optional[str]:
    """``latest_checkpoint(work_dir)`` where it can be read; else the newest readable ``iter_*`` / ``epoch_*``
    file before it, with a line naming the one that cannot be read and why. None without any checkpoint;
    ``FileNotFoundError`` when there are checkpoints and none can be read (each named)."""
    from ..utils.checkpoint_io import CheckpointReadError, read_checkpoint_meta
    try:
        latest = latest_checkpoint(work_dir)
        problem = None
    except FileNotFoundError as err:
        latest, problem = None, str(err)
    if latest is not None:
        if '://' in latest:
            return latest
        try:
            read_checkpoint_meta(latest)
            return latest
        except (CheckpointReadError, FileNotFoundError) as err:
            problem = str(err)
    if problem is None:
        return None  # no last_checkpoint: nothing trained yet
    unreadable = [problem]
    for candidate in training_checkpoints(work_dir):
        if latest is not None and osp.samefile(candidate, latest):
            continue
        try:
            read_checkpoint_meta(candidate)
        except (CheckpointReadError, FileNotFoundError) as err:
            unreadable.append(str(err))
            continue
        print_log(f'--resume: the newest checkpoint cannot be read ({problem}); resuming from {candidate}, the '
                  'newest readable one', logger='current', level=logging.WARNING)
        return candidate
    raise FileNotFoundError(f'--resume: no readable checkpoint in {work_dir}: ' + '; '.join(unreadable))
