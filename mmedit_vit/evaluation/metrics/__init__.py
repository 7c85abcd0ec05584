from .topk_accuracy import TopKAccuracy, topk_accuracy

__all__ = ['TopKAccuracy', 'topk_accuracy']
