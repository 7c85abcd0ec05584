"""Evaluation metrics (registered on import)."""
from .metrics import TopKAccuracy, topk_accuracy

__all__ = ['TopKAccuracy', 'topk_accuracy']
