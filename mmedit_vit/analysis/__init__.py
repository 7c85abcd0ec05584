from .complexity import LinearClassifier, count_flops, count_parameters, sdpa_flop_jit

__all__ = ['count_flops', 'count_parameters', 'sdpa_flop_jit', 'LinearClassifier']
