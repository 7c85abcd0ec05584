"""Top-k accuracy of classifier predictions, optionally over a subset of the model's classes."""
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.evaluator import BaseMetric
from mmengine.registry import METRICS

from ...utils.arg_checks import check_ints


def topk_accuracy(scores: torch.Tensor, labels: torch.Tensor, topk: Sequence[int] = (1, 5),
                  label_subset: Optional[Sequence[int]] = None) -> Dict[int, float]:
    """Percent of rows whose label is among the k highest scores, for each k.

    With ``label_subset`` (model indices), only those columns compete (ImageNet-A/R on a 1000-class
    model); every label must be one of them.
    """
    if label_subset is not None:
        subset = torch.as_tensor(list(label_subset), dtype=torch.long)
        position = torch.full((scores.shape[1],), -1, dtype=torch.long)
        position[subset] = torch.arange(len(subset))
        labels = position[labels]
        if (labels < 0).any():
            raise ValueError('a label is outside label_subset')
        scores = scores[:, subset]
    ks = [min(k, scores.shape[1]) for k in topk]
    ranked = scores.topk(max(ks), dim=1).indices
    hits = ranked == labels.view(-1, 1)
    return {k: hits[:, :kk].any(dim=1).float().mean().item() * 100.0 for k, kk in zip(topk, ks)}


@METRICS.register_module()
class TopKAccuracy(BaseMetric):
    """``accuracy/top1``, ``accuracy/top5`` (percent) from ``pred_score`` and ``gt_label``.

    Scores are restricted to ``dataset_meta['label_subset']`` when the dataset sets it
    (``ImageNetSubsetDataset``).
    """

    default_prefix = 'accuracy'

    def __init__(self, topk: Sequence[int] = (1, 5), collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        check_ints('topk', topk, min=1, empty_ok=False)
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.topk = tuple(topk)

    def process(self, data_batch, data_samples: Sequence) -> None:
        for sample in data_samples:
            get = sample.get if isinstance(sample, dict) else (lambda k: getattr(sample, k))
            self.results.append((get('pred_score').cpu(), get('gt_label').view(-1)[0].cpu()))

    def compute_metrics(self, results: List) -> Dict[str, float]:
        scores = torch.stack([r[0] for r in results])
        labels = torch.stack([r[1] for r in results])
        subset = (self.dataset_meta or {}).get('label_subset')
        accuracy = topk_accuracy(scores, labels, self.topk, subset)
        return {f'top{k}': value for k, value in accuracy.items()}
