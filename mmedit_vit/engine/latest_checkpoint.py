"""``last_checkpoint`` that survives moving or copying the work dir.

mmengine writes the absolute path of the newest checkpoint into ``<work_dir>/last_checkpoint``; a work
dir moved from cluster scratch to home, or copied to another machine, then names a file that is not
there. Here the file holds the path relative to the work dir, and reading it resolves a relative path
against the work dir it is in and an absolute path that no longer exists by its file name in that
work dir (work dirs written before this change).
"""
import os.path as osp
from typing import Optional

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
