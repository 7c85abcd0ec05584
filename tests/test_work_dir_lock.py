"""One training run per work dir: the lock's record, refusal, stale-lock takeover, --force-unlock, release, and
tools/train.py refusing a second run while a first process holds the work dir (two real processes)."""
import json
import os
import os.path as osp
import socket
import subprocess
import sys
import time

import pytest

from mmedit_vit.engine.work_dir_lock import LOCK_NAME, WorkDirLock, WorkDirLockedError, launcher_rank
from seg_helpers import ROOT, run_tool

CLS_DEMO = osp.join(ROOT, 'configs', 'demo', 'cls_edit_t_synthetic.py')
MISSING_DATA = 'train_dataloader.dataset.data_root={}/missing'


def dead_pid() -> int:
    """The PID of a process that has ended (not reused at once: PIDs count up)."""
    proc = subprocess.Popen([sys.executable, '-c', 'pass'])
    proc.wait()
    return proc.pid


def write_lock(work_dir, **holder) -> str:
    os.makedirs(work_dir, exist_ok=True)
    path = osp.join(work_dir, LOCK_NAME)
    with open(path, 'w') as f:
        json.dump(dict(dict(host=socket.gethostname(), started='2026-01-01 00:00:00 UTC'), **holder), f)
    return path


def test_the_lock_names_its_holder_and_a_second_taker_is_refused(tmp_path):
    work_dir = str(tmp_path / 'run')
    first = WorkDirLock(work_dir).acquire()
    with open(osp.join(work_dir, LOCK_NAME)) as f:
        holder = json.load(f)
    assert (holder['host'], holder['pid']) == (socket.gethostname(), os.getpid())
    assert time.strptime(holder['started'][:19], '%Y-%m-%d %H:%M:%S')
    with pytest.raises(WorkDirLockedError) as err:
        WorkDirLock(work_dir).acquire()
    message = str(err.value)
    assert '\n' not in message and 'in use by another training run' in message
    assert f'host {socket.gethostname()}, PID {os.getpid()}, started {holder["started"]}' in message
    assert '--force-unlock' in message
    first.release()
    assert not osp.exists(osp.join(work_dir, LOCK_NAME))
    assert WorkDirLock(work_dir).acquire().held  # free again
    assert sorted(os.listdir(work_dir)) == [LOCK_NAME]  # no temporary file left


def test_a_lock_of_a_dead_process_on_this_host_is_taken_over_with_a_line(tmp_path):
    work_dir, lines = str(tmp_path / 'run'), []
    pid = dead_pid()
    write_lock(work_dir, pid=pid)
    lock = WorkDirLock(work_dir, log=lines.append).acquire()
    assert lock.held and len(lines) == 1
    assert 'took over the lock of a run that is gone' in lines[0] and f'PID {pid}' in lines[0]
    assert 'no such process' in lines[0]
    with open(lock.path) as f:
        assert json.load(f)['pid'] == os.getpid()


def test_a_reused_pid_is_told_apart_by_its_start_time(tmp_path):
    work_dir, lines = str(tmp_path / 'run'), []
    write_lock(work_dir, pid=os.getppid(), process_start='1')  # alive, but started at another time (Linux /proc)
    assert WorkDirLock(work_dir, log=lines.append).acquire().held
    assert 'is now another process' in lines[0]


def test_a_live_or_remote_holder_needs_force_unlock(tmp_path):
    work_dir, lines = str(tmp_path / 'run'), []
    pid = dead_pid()
    path = write_lock(work_dir, host='node-17', pid=pid)  # another host: liveness unknown
    with pytest.raises(WorkDirLockedError, match=f'host node-17, PID {pid}, .* --force-unlock'):
        WorkDirLock(work_dir).acquire()
    write_lock(work_dir, pid=os.getppid())  # this host, a live process
    with pytest.raises(WorkDirLockedError, match=f'PID {os.getppid()}, '):
        WorkDirLock(work_dir).acquire()
    write_lock(work_dir, host='node-17', pid=pid)
    lock = WorkDirLock(work_dir, log=lines.append).acquire(force=True)
    assert lock.held and lines == [f'--force-unlock: removed the lock of {work_dir} (host node-17, PID {pid}, '
                                   'started 2026-01-01 00:00:00 UTC)']
    with open(path, 'w') as f:
        f.write('')  # a lock that is not a record: not guessed at
    with pytest.raises(WorkDirLockedError, match='names no run'):
        WorkDirLock(work_dir).acquire()


def test_release_leaves_a_lock_another_run_took(tmp_path):
    work_dir = str(tmp_path / 'run')
    lock = WorkDirLock(work_dir).acquire()
    WorkDirLock(work_dir, log=lambda _: None).acquire(force=True)  # taken by another run
    lock.release()
    assert osp.exists(lock.path)


def test_rank_from_the_launchers_environment(monkeypatch):
    for name in ('RANK', 'SLURM_PROCID', 'OMPI_COMM_WORLD_RANK'):
        monkeypatch.delenv(name, raising=False)
    assert launcher_rank() == 0
    monkeypatch.setenv('SLURM_PROCID', '3')
    assert launcher_rank() == 3
    monkeypatch.setenv('RANK', '1')
    assert launcher_rank() == 1


def test_train_releases_the_lock_when_it_stops_with_an_error(tmp_path):
    from mmedit_vit.apis.train_cli import main
    work_dir = str(tmp_path / 'run')
    with pytest.raises(SystemExit, match='missing'):
        main([CLS_DEMO, '--work-dir', work_dir, '--cfg-options', MISSING_DATA.format(tmp_path)])
    assert osp.isdir(work_dir) and not osp.exists(osp.join(work_dir, LOCK_NAME))


HOLDER = '''
import sys, time
from mmedit_vit.engine.work_dir_lock import WorkDirLock
lock = WorkDirLock(sys.argv[1]).acquire()
print('holding', flush=True)
time.sleep(120)
'''


@pytest.mark.slow
def test_a_second_training_run_on_a_held_work_dir_stops_at_once(tmp_path):
    """Two real processes: one holds the work dir, tools/train.py on it stops with one line naming the holder."""
    work_dir = str(tmp_path / 'run')
    holder = subprocess.Popen([sys.executable, '-c', HOLDER, work_dir], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                              env={**os.environ, 'PYTHONPATH': ROOT})
    try:
        assert holder.stdout.readline().strip() == 'holding'
        start = time.time()
        out = run_tool(['tools/train.py', CLS_DEMO, '--work-dir', work_dir], timeout=120)
        assert out.returncode == 1, out.stderr[-2000:]
        last = out.stderr.strip().splitlines()[-1]
        assert 'in use by another training run' in last and f'PID {holder.pid}' in last
        assert f'host {socket.gethostname()}' in last and 'started ' in last and 'Traceback' not in out.stderr
        assert sorted(os.listdir(work_dir)) == [LOCK_NAME]  # nothing written by the second run
        print(f'refused in {time.time() - start:.1f} s')
    finally:
        holder.kill()
        holder.wait()
    # the holder was killed: its lock is stale, and a new run takes it over (it then stops on the missing data)
    out = run_tool(['tools/train.py', CLS_DEMO, '--work-dir', work_dir, '--cfg-options',
                    MISSING_DATA.format(tmp_path)], timeout=120)
    assert 'took over the lock of a run that is gone' in out.stdout + out.stderr and f'PID {holder.pid}' in (
        out.stdout + out.stderr)
    assert out.returncode == 1 and not osp.exists(osp.join(work_dir, LOCK_NAME))
