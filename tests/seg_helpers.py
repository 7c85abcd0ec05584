"""Shared pieces of the segmentation tests: generated data, configs pointed at it, tool runs."""
import os.path as osp

from mmengine.config import Config

from mmedit_vit.utils.run_logs import latest_test_metrics, training_losses  # noqa: F401  (re-exported)
from tool_runner import run_tool  # noqa: F401  (re-exported)

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


