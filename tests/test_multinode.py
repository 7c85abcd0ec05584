"""Beyond one machine: the torchrun multi-node form of tools/dist_train.sh (2 nodes x 1 process, gloo, on
localhost) and the srun command lines of tools/slurm_train.sh / slurm_test.sh."""
import os
import os.path as osp
import socket
import stat
import subprocess
import sys

import pytest

from mmedit_vit.datasets import make_synthetic_ade20k
from seg_helpers import DEMO_CONFIG, ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_nodes_one_process_each_train_on_localhost(tmp_path):
    data_root = make_synthetic_ade20k(str(tmp_path / 'ade'), num_train=8, num_val=2, size=(64, 80))
    work_dir = str(tmp_path / 'work')
    port = free_port()
    options = ['--work-dir', work_dir, '--cfg-options', 'train_cfg.max_iters=3', 'train_cfg.val_interval=100',
               'default_hooks.checkpoint.interval=3', 'train_dataloader.batch_size=2']
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options += [f'{split}.dataset.data_root={data_root}', f'{split}.num_workers=0',
                    f'{split}.persistent_workers=False']
    procs = []
    for node_rank in (0, 1):  # two "machines": two torchrun agents that meet at MASTER_ADDR:PORT
        env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHON_BIN': sys.executable, 'NNODES': '2',
               'NODE_RANK': str(node_rank), 'MASTER_ADDR': '127.0.0.1', 'PORT': str(port)}
        procs.append(subprocess.Popen(['bash', 'tools/dist_train.sh', DEMO_CONFIG, '1'] + options, cwd=ROOT, env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    logs = [p.communicate(timeout=600)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], logs[0][-3000:] + logs[1][-3000:]
    assert 'distributed on CPU with gloo (rank 0 of 2)' in logs[0]  # one process here, the other on "node 1"
    assert 'Distributed training: True' in logs[0]
    assert osp.isfile(osp.join(work_dir, 'iter_3.pth'))


@pytest.fixture
def fake_srun(tmp_path):
    """An ``srun`` on PATH that records its arguments and environment instead of launching."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    record = tmp_path / 'srun_args'
    script = bin_dir / 'srun'
    script.write_text(f'#!/usr/bin/env bash\nprintf "%s\\n" "$@" > {record}\n'
                      f'echo "MASTER_PORT=$MASTER_PORT" >> {record}\necho "PYTHONPATH=$PYTHONPATH" >> {record}\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(bin_dir), record


def run_script(script: str, args: list, fake_srun, **env) -> list:
    bin_dir, record = fake_srun
    full_env = {**os.environ, 'PATH': f'{bin_dir}:{os.environ["PATH"]}', 'PYTHON_BIN': '/usr/bin/python3',
                **{k: str(v) for k, v in env.items()}}
    proc = subprocess.run(['bash', osp.join('tools', script)] + args, cwd=ROOT, env=full_env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return record.read_text().splitlines()


def test_slurm_train_runs_one_task_per_gpu_with_the_slurm_launcher(fake_srun):
    args = run_script('slurm_train.sh', ['gpu', 'cb6', 'configs/upernet_cb_s_ade20k.py', '--seed', '1',
                                         '--amp-dtype', 'bfloat16'], fake_srun, GPUS=16, PORT=29611,
                      SRUN_ARGS='--time=48:00:00 --qos=high')
    assert args[:9] == ['-p', 'gpu', '--job-name=cb6', '--gres=gpu:8', '--ntasks=16', '--ntasks-per-node=8',
                        '--cpus-per-task=5', '--kill-on-bad-exit=1', '--time=48:00:00']
    assert args[9] == '--qos=high'
    assert args[10:13] == ['/usr/bin/python3', '-u', osp.join(ROOT, 'tools', 'train.py')]
    assert args[13:20] == ['configs/upernet_cb_s_ade20k.py', '--launcher', 'slurm', '--seed', '1', '--amp-dtype',
                              'bfloat16']
    assert 'MASTER_PORT=29611' in args and any(a.startswith(f'PYTHONPATH={ROOT}') for a in args)


def test_slurm_test_and_small_allocations(fake_srun):
    args = run_script('slurm_test.sh', ['gpu', 'eval', 'configs/segmenter_edit_s_ade20k.py', 'ckpt.pth', '--tta'],
                      fake_srun, GPUS=2)
    assert '--gres=gpu:2' in args and '--ntasks=2' in args and '--ntasks-per-node=2' in args
    i = args.index(osp.join(ROOT, 'tools', 'test.py'))
    assert args[i + 1:i + 6] == ['configs/segmenter_edit_s_ade20k.py', 'ckpt.pth', '--launcher', 'slurm', '--tta']


def test_slurm_scripts_name_their_arguments_when_called_without(fake_srun):
    bin_dir, _ = fake_srun
    for script in ('slurm_train.sh', 'slurm_test.sh'):
        proc = subprocess.run(['bash', osp.join('tools', script), 'gpu'], cwd=ROOT, capture_output=True, text=True,
                              env={**os.environ, 'PATH': f'{bin_dir}:{os.environ["PATH"]}'})
        assert proc.returncode == 2 and 'usage: bash tools/' + script in proc.stderr
