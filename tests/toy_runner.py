"""A seconds-long mmengine run through the project's runner and safety hooks, for the fault tests.

The model draws from torch's generator (dropout, drop path) and the dataset from numpy's and python's
(augmentation in the main process, ``num_workers=0``), so a resumed run repeats the uninterrupted one
only if every random state is restored at the right moment.
"""
import os.path as osp
import random
import sys
from typing import Optional

import numpy as np
import torch
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.registry import DATASETS, FUNCTIONS, MODELS
from timm.layers import DropPath
from torch import nn
from torch.utils.data import Dataset

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from mmedit_vit.apis.run_config import add_safety_hooks, build_runner  # noqa: E402


@DATASETS.register_module(force=True)
class ToyNoiseDataset(Dataset):
    """x = fixed vector + numpy/python noise drawn when the item is read; y = its sign pattern."""

    def __init__(self, size: int = 32, width: int = 8) -> None:
        g = torch.Generator().manual_seed(0)
        self.base = torch.randn(size, width, generator=g)

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i: int) -> dict:
        noise = torch.from_numpy(np.random.normal(0, 0.1, self.base.shape[1]).astype(np.float32))
        x = self.base[i] * random.uniform(0.9, 1.1) + noise
        return dict(inputs=x, target=(self.base[i] > 0).float())


@MODELS.register_module(force=True)
class ToyDropModel(BaseModel):
    """Two linear layers with dropout and drop path; ``nan_at`` makes the loss NaN from that call on."""

    def __init__(self, width: int = 8, drop_path: float = 0.3, nan_at: Optional[int] = None) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(width, 32), nn.Linear(32, width)
        self.drop, self.drop_path = nn.Dropout(0.2), DropPath(drop_path)
        self.nan_at, self.calls, self.losses = nan_at, 0, []

    def forward(self, inputs, target=None, mode: str = 'tensor'):
        h = self.fc1(inputs)
        out = self.fc2(h.relu() + self.drop_path(self.drop(h)))
        if mode != 'loss':
            return out
        self.calls += 1
        loss = nn.functional.binary_cross_entropy_with_logits(out, target)
        if self.nan_at is not None and self.calls >= self.nan_at:
            loss = loss * float('nan')
        self.losses.append(loss.item())
        return dict(loss=loss)


@FUNCTIONS.register_module(name='toy_collate', force=True)
def collate(batch):
    return dict(inputs=torch.stack([b['inputs'] for b in batch]), target=torch.stack([b['target'] for b in batch]))


def toy_config(work_dir: str, max_iters: int = 8, interval: int = 4, max_keep: int = 1,
               nan_at: Optional[int] = None, seed: int = 0) -> Config:
    cfg = Config(dict(
        model=dict(type='ToyDropModel', nan_at=nan_at),
        work_dir=work_dir,
        train_dataloader=dict(dataset=dict(type='ToyNoiseDataset'), batch_size=4, num_workers=0,
                              sampler=dict(type='InfiniteSampler', shuffle=True), collate_fn=dict(type='toy_collate')),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=max_iters),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=interval,
                                           max_keep_ckpts=max_keep),
                           logger=dict(type='LoggerHook', interval=1)),
        log_processor=dict(by_epoch=False, window_size=1),
        randomness=dict(seed=seed),
        default_scope='mmengine',
        log_level='WARNING',
    ))
    add_safety_hooks(cfg)
    return cfg


def toy_runner(work_dir: str, resume: bool = False, **kwargs):
    cfg = toy_config(work_dir, **kwargs)
    cfg.resume = resume
    return build_runner(cfg)
