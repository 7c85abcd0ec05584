"""Calibration images for static INT8 quantisation: N images from the config's training set, or a folder,
through the config's test pipeline and data preprocessor (what the deployed graph is fed).

The training images are a seeded random subset (not the first N, which an ordered dataset would fill with one
class); the test pipeline is used because it is deterministic and gives the graph its test-time input.
Label-loading steps are dropped (a folder has no labels). An input that does not fit a graph exported at a
fixed size is resized to it (bilinear), as a sliding-window test crops it to that size.
"""
from typing import Iterator, List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

LABEL_STEPS = ('LoadAnnotations', 'LoadSegLabels', 'LoadPanopticAnnotations')


def calibration_pipeline(cfg) -> List[dict]:
    """The config's test pipeline without its label loaders."""
    pipeline = cfg.test_dataloader.dataset.get('pipeline')
    if not pipeline:
        raise ValueError('the config has no test_dataloader.dataset.pipeline to prepare calibration images with')
    return [dict(step) for step in pipeline if str(step.get('type', '')).split('.')[-1] not in LABEL_STEPS]


def calibration_samples(cfg, num: int, image_dir: Optional[str] = None, seed: int = 0) -> List[dict]:
    """``num`` pipeline outputs: images of ``image_dir`` (sorted, the first ``num``) or a seeded random subset
    of ``cfg.train_dataloader.dataset``."""
    from mmengine.dataset import Compose
    from mmengine.registry import DATASETS, init_default_scope
    if num < 1:
        raise ValueError(f'--calib {num}: calibrate on at least one image')
    init_default_scope(cfg.get('default_scope') or 'mmedit_vit')
    pipeline = calibration_pipeline(cfg)
    if image_dir is not None:
        from ..apis.analyze import image_files
        files = image_files([image_dir])
        if len(files) < num:
            raise ValueError(f'--calib {num}: the folder {image_dir!r} holds only {len(files)} images')
        transform = Compose(pipeline)
        return [transform(dict(img_path=f)) for f in files[:num]]
    dataset_cfg = dict(cfg.train_dataloader.dataset)
    while 'dataset' in dataset_cfg and 'pipeline' not in dataset_cfg:  # RepeatDataset and the like
        dataset_cfg = dict(dataset_cfg['dataset'])
    dataset = DATASETS.build(dict(dataset_cfg, pipeline=pipeline))
    if len(dataset) < num:
        raise ValueError(f'--calib {num}: the training set holds only {len(dataset)} images')
    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))[:num]
    return [dataset[int(i)] for i in order]


def preprocess(samples: Sequence[dict], data_preprocessor: nn.Module,
               shape: Optional[Sequence] = None) -> Iterator[np.ndarray]:
    """Each sample as the graph's (1, 3, H, W) float32 input; resized to ``shape``'s fixed H, W if it has them."""
    from mmengine.dataset import pseudo_collate
    for sample in samples:
        with torch.no_grad():
            inputs = data_preprocessor(pseudo_collate([sample]), False)['inputs'].float()
        size = [int(s) for s in shape[2:]] if shape is not None and all(isinstance(s, int) for s in shape[2:]) \
            else None
        if size is not None and list(inputs.shape[2:]) != size:
            inputs = F.interpolate(inputs, size=size, mode='bilinear', align_corners=False)
        yield inputs.cpu().numpy()


class ArrayReader:
    """onnxruntime's ``CalibrationDataReader`` protocol over prepared arrays (one batch per call)."""

    def __init__(self, input_name: str, arrays: Sequence[np.ndarray]) -> None:
        self.input_name = input_name
        self.arrays = list(arrays)
        self.position = 0

    def get_next(self) -> Optional[dict]:
        if self.position >= len(self.arrays):
            return None
        self.position += 1
        return {self.input_name: self.arrays[self.position - 1]}

    def rewind(self) -> None:
        self.position = 0
