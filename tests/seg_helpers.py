"""Shared pieces of the segmentation tests: generated data, configs pointed at it, tool runs."""
import os
import os.path as osp
import subprocess
import sys
from typing import List, Optional

from mmengine.config import Config

from mmedit_vit.utils.run_logs import latest_test_metrics, training_losses  # noqa: F401  (re-exported)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO_CONFIG = osp.join(ROOT, 'configs', 'demo', 'segmenter_edit_t_synthetic_ade20k.py')
SPLITS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def point_at_data(cfg: Config, data_root: str) -> Config:
    """Every dataloader of ``cfg`` reads ``data_root`` in the main process; no pretrained file."""
    for split in SPLITS:
        if cfg.get(split):
            cfg[split].dataset.data_root = data_root
            cfg[split].num_workers = 0
            cfg[split].persistent_workers = False
    cfg.model.backbone.init_cfg = None
    return cfg


def run_tool(args: List[str], cwd: str = ROOT, env: Optional[dict] = None,
             timeout: int = 600) -> subprocess.CompletedProcess:
    """Runs ``python <args>`` as a user would and returns the finished process (output captured)."""
    full_env = {**os.environ, 'OMP_NUM_THREADS': '1', **(env or {})}  # small models: one thread is fastest
    return subprocess.run([sys.executable] + args, cwd=cwd, env=full_env, capture_output=True, text=True,
                          timeout=timeout)
