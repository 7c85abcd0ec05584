"""One training run per work dir: a lock file that names its holder.

Two runs on one work dir (a cluster job requeued while its first copy still runs) would both write
``iter_*.pth``, ``last_checkpoint`` and logs into it. A run takes ``<work_dir>/train.lock`` first (rank 0
under DDP); the file holds the host, PID, process start and wall-clock start of its holder, and is written
whole or not at all (a hard link of a finished temporary file). A second run stops with one line naming the
holder. A lock whose holder is gone is taken over, with a line saying so, where that can be known: the same
host and no process with that PID (or one started at another time: the PID was reused). On another host
liveness cannot be known: ``--force-unlock`` removes the lock. The lock is removed when the run ends, also
on an error.
"""
import json
import os
import os.path as osp
import socket
import time
import uuid
from typing import Callable, Optional

LOCK_NAME = 'train.lock'


class WorkDirLockedError(RuntimeError):
    """Another run holds the work dir; the message names it and the way out."""


def _process_start(pid: int) -> Optional[str]:
    """The start time of process ``pid`` in clock ticks since boot (Linux ``/proc``); None where unknown."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def describe(holder: dict) -> str:
    return (f"host {holder.get('host', '?')}, PID {holder.get('pid', '?')}, started "
            f"{holder.get('started', '?')}")


class WorkDirLock:
    """The lock of ``work_dir``, taken by ``acquire`` and removed by ``release`` (a context manager too)."""

    def __init__(self, work_dir: str, log: Callable[[str], None] = print) -> None:
        self.work_dir = work_dir
        self.path = osp.join(work_dir, LOCK_NAME)
        self.log = log
        self.token = uuid.uuid4().hex
        self.held = False

    def record(self) -> dict:
        pid = os.getpid()
        return dict(host=socket.gethostname(), pid=pid, process_start=_process_start(pid),
                    started=time.strftime('%Y-%m-%d %H:%M:%S %Z'), token=self.token)

    def read(self) -> Optional[dict]:
        """The holder's record; None when there is no lock; ``{}`` for a file that is not a record."""
        try:
            with open(self.path) as f:
                text = f.read()
        except FileNotFoundError:
            return None
        try:
            holder = json.loads(text)
        except ValueError:
            return {}
        return holder if isinstance(holder, dict) else {}

    def _create(self) -> bool:
        """Writes the record to a temporary file and links it to the lock path: False if the lock exists."""
        tmp = f'{self.path}.{self.token}.tmp'
        with open(tmp, 'w') as f:
            json.dump(self.record(), f)
        try:
            os.link(tmp, self.path)
            return True
        except FileExistsError:
            return False
        finally:
            os.remove(tmp)

    def stale_reason(self, holder: dict) -> Optional[str]:
        """Why ``holder`` is known to be gone (same host only); None if it may still run."""
        if holder.get('host') != socket.gethostname() or not isinstance(holder.get('pid'), int):
            return None
        pid = holder['pid']
        if not _alive(pid):
            return 'no such process'
        start, recorded = _process_start(pid), holder.get('process_start')
        if start is not None and recorded is not None and recorded != start:
            return f'PID {pid} is now another process'  # reused, e.g. by a requeued job in a new container
        return None

    def _remove(self, holder: dict) -> bool:
        """Moves the lock aside and deletes it if it is still ``holder``'s: of two runs taking over one stale
        lock, one wins; a fresh lock that replaced it meanwhile is put back."""
        aside = f'{self.path}.{self.token}.old'
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return False
        try:
            with open(aside) as f:
                text = f.read()
            try:
                moved = json.loads(text)
            except ValueError:
                moved = {}
            if moved != holder:
                try:
                    os.link(aside, self.path)
                except FileExistsError:
                    pass
                return False
            return True
        finally:
            os.remove(aside)

    def acquire(self, force: bool = False) -> 'WorkDirLock':
        """Takes the lock, or raises ``WorkDirLockedError`` naming the holder. ``force``: remove any lock."""
        os.makedirs(self.work_dir, exist_ok=True)
        for _ in range(5):  # a race with another taker: read again
            if self._create():
                self.held = True
                return self
            holder = self.read()
            if holder is None:
                continue
            if force:
                if self._remove(holder):
                    self.log(f'--force-unlock: removed the lock of {self.work_dir} ({describe(holder)})')
                continue
            reason = self.stale_reason(holder)
            if reason is None:
                if not holder:
                    raise WorkDirLockedError(
                        f'work dir {self.work_dir} is locked by {self.path}, which names no run (written by '
                        'another program?); if no run uses the work dir, start with --force-unlock')
                raise WorkDirLockedError(
                    f'work dir {self.work_dir} is in use by another training run ({describe(holder)}; '
                    f'{self.path}): wait for it to end, or if it is gone start with --force-unlock')
            if self._remove(holder):
                self.log(f'work dir {self.work_dir}: took over the lock of a run that is gone ({describe(holder)}: '
                         f'{reason})')
        raise WorkDirLockedError(f'could not take {self.path}: other runs keep taking it')

    def release(self) -> None:
        """Removes the lock if this run holds it (a lock another run took over is left alone)."""
        if not self.held:
            return
        self.held = False
        holder = self.read()
        if holder and holder.get('token') == self.token:
            try:
                os.remove(self.path)
            except FileNotFoundError:
                pass

    def __enter__(self) -> 'WorkDirLock':
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def launcher_rank() -> int:
    """This process's global rank from the launcher's environment (torchrun, Slurm, Open MPI); 0 alone."""
    for name in ('RANK', 'SLURM_PROCID', 'OMPI_COMM_WORLD_RANK'):
        value = os.environ.get(name)
        if value is not None and value.strip().isdigit():
            return int(value)
    return 0
