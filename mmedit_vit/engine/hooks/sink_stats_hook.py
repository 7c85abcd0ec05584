"""Attention-sink statistics of the training model, every N iterations or epochs.

The gated-attention proposal tracks the token-norm distribution every 10 epochs to see when
high-norm artifacts appear: ``custom_hooks = [dict(type='SinkStatsHook', interval=10, by_epoch=True)]``.
One small batch (the first images of the first training batch, normalised by the model's
data_preprocessor) is kept and
re-run through the backbone with the probes on, without gradients, so the cost is one forward pass
of ``num_images`` images per record. The outlier statistics (residual-stream kurtosis, max |x| of block
outputs and MLP activations, tokens above ``norm_ratio`` x the median patch norm) are reduced on the device
inside that pass and read back with the rest of the record: nothing runs, and nothing waits for the device,
between records.
"""
import json
import os.path as osp
from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from ...analysis import sink_metrics as sm
from ...analysis.layer_stats import layer_statistics, norm_histograms, summarize
from ...analysis.outlier_stats import DEFAULT_NORM_RATIO
from ...analysis.probes import capture_backbone
from ...utils.arg_checks import check_bool, check_float, check_int

# metrics written to the log line and the scalar backends (averaged over layers)
LOGGED = ('cls_attention_ratio', 'decoder_cls_attention_ratio', 'register_attention_share', 'entropy_mean',
          'entropy_p15', 'relative_distance', 'norm_max', 'high_norm_count', 'gate_score_mean', 'gate_sparsity',
          'cbs_scale_mean', 'kurtosis', 'block_max_abs', 'mlp_max_abs', 'rel_high_norm_fraction')


@HOOKS.register_module()
class SinkStatsHook(Hook):
    """Records per-layer sink statistics into ``work_dir/<file_name>`` (JSON lines) and the log.

    Args:
        interval: record every ``interval`` iterations (``by_epoch=False``) or epochs.
        by_epoch: count epochs instead of iterations.
        num_images: images of the first training batch kept as the fixed probe batch.
        img_size: resize the probe batch to this square size (None: as the preprocessor gives it).
        norm_threshold: high-norm token threshold (default: 150, the registers paper's criterion).
        norm_ratio: scale-free high-norm tokens: above this many times the image's median patch norm.
        gate_threshold: gate scores below it count as closed.
        bins: bins of the recorded token-norm histograms.
        record_first: also record after the first training iteration (the starting point).
        file_name: JSON-lines file inside the work_dir.
    """

    priority = 'LOW'

    def __init__(self, interval: int = 1000, by_epoch: bool = False, num_images: int = 2,
                 img_size: Optional[int] = None, norm_threshold: float = sm.REGISTERS_PAPER_NORM_THRESHOLD,
                 gate_threshold: float = sm.DEFAULT_GATE_THRESHOLD, bins: int = 50, record_first: bool = True,
                 file_name: str = 'sink_stats.jsonl', norm_ratio: float = DEFAULT_NORM_RATIO) -> None:
        for name, value in (('interval', interval), ('num_images', num_images), ('bins', bins)):
            check_int(name, value, min=1)
        check_int('img_size', img_size, min=1, optional=True)
        check_float('norm_threshold', norm_threshold, min=0, min_open=True)
        check_float('gate_threshold', gate_threshold, min=0, max=1)
        check_float('norm_ratio', norm_ratio, min=0, min_open=True)
        check_bool('by_epoch', by_epoch)
        check_bool('record_first', record_first)
        self.interval = interval
        self.by_epoch = by_epoch
        self.num_images = num_images
        self.img_size = img_size
        self.norm_threshold = norm_threshold
        self.gate_threshold = gate_threshold
        self.norm_ratio = norm_ratio
        self.bins = bins
        self.record_first = record_first
        self.file_name = file_name
        self._images: Optional[torch.Tensor] = None

    @staticmethod
    def _model(runner):
        return runner.model.module if is_model_wrapper(runner.model) else runner.model

    @staticmethod
    def _sample(data_batch: dict, i: int) -> dict:
        """The i-th sample of a collated batch, as a batch of one (list or tensor collation)."""
        return {k: (v[i:i + 1] if isinstance(v, torch.Tensor) else [v[i]]) if isinstance(v, (list, tuple, torch.Tensor))
                else v for k, v in data_batch.items()}

    def _keep_batch(self, runner, data_batch) -> None:
        """Normalises the first images one by one (training crops may differ in size) and stacks them,
        resized to ``img_size`` or to the first image's size."""
        model = self._model(runner)
        count = min(self.num_images, len(data_batch['inputs']))
        images = []
        with torch.no_grad():
            for i in range(count):
                inputs = model.data_preprocessor(self._sample(data_batch, i), False)['inputs']
                images.append((inputs[0] if isinstance(inputs, (list, tuple)) else inputs.reshape(
                    -1, *inputs.shape[-3:])[0]).detach().float())
        size = (self.img_size, self.img_size) if self.img_size is not None else tuple(images[0].shape[-2:])
        self._images = torch.stack([
            img if tuple(img.shape[-2:]) == size else
            F.interpolate(img[None], size=size, mode='bilinear', align_corners=False)[0] for img in images])

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self._images is None and data_batch is not None:
            self._keep_batch(runner, data_batch)
        first = self.record_first and runner.iter == 0
        if first or (not self.by_epoch and self.every_n_train_iters(runner, self.interval)):
            self.record(runner, epochs_done=runner.epoch, iters_done=runner.iter + 1)

    def after_train_epoch(self, runner) -> None:
        if self.by_epoch and self.every_n_epochs(runner, self.interval):
            # the runner counts the epoch after this hook; its iterations are counted already
            self.record(runner, epochs_done=runner.epoch + 1, iters_done=runner.iter)

    def record(self, runner, epochs_done: int, iters_done: int) -> Optional[dict]:
        """Runs the probe batch through the backbone and writes one record (main process only).

        ``iter`` and ``epoch`` in the record count completed iterations and epochs.
        """
        if self._images is None or not is_main_process():
            return None
        model = self._model(runner)
        backbone = getattr(model, 'backbone', model)
        device = next(backbone.parameters()).device
        cap = capture_backbone(backbone, self._images.to(device))
        stats = layer_statistics(cap, self.norm_threshold, self.gate_threshold, self.norm_ratio)
        record = dict(iter=iters_done, epoch=epochs_done, num_images=int(self._images.shape[0]),
                      norm_threshold=self.norm_threshold, norm_ratio=self.norm_ratio, layers=stats,
                      norm_histogram=norm_histograms(cap, self.bins))
        with open(osp.join(runner.work_dir, self.file_name), 'a') as f:
            f.write(json.dumps(record) + '\n')
        summary = {k: v for k, v in summarize(stats).items() if k in LOGGED}
        runner.message_hub.update_info('sink_stats', record)
        runner.visualizer.add_scalars({f'sink/{k}': v for k, v in summary.items()}, step=iters_done)
        runner.logger.info(f'sink stats (iter {iters_done}, epoch {epochs_done}, layer mean): '
                           + ', '.join(f'{k} {v:.4g}' for k, v in summary.items()))
        return record
