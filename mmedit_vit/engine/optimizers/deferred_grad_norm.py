"""Optimiser wrappers that log the clipped gradient norm without waiting for the device."""
from functools import partial

from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS

from ...utils.arg_checks import check_arguments, check_bool, check_int
from ..scalar_readback import queue_of

WRAPPER_CHECKS = {'accumulative_counts': partial(check_int, min=1), 'use_fsdp': check_bool}


class DeferredGradNormMixin:
    """``_clip_grad`` as mmengine's, with the norm queued as a tensor (``DeferredRuntimeInfoHook`` logs it
    at the next logging iteration) instead of ``float(norm)`` after every step. Without that hook's queue
    the norm is logged at once, as mmengine does."""

    def __init__(self, *args, **kwargs) -> None:
        check_arguments(super().__init__, args, kwargs, WRAPPER_CHECKS)
        super().__init__(*args, **kwargs)

    def _clip_grad(self) -> None:
        queue = queue_of(self.message_hub)
        if queue is None:
            return super()._clip_grad()
        params = [p for group in self.optimizer.param_groups for p in group['params']
                  if p.requires_grad and p.grad is not None]
        if params:
            norm = self.clip_func(params, **self.clip_grad_kwargs)
            if norm is not None:  # clip_grad_value_ returns None
                queue.push(f'train/{self.grad_name}', norm)


@OPTIM_WRAPPERS.register_module()
class DeferredLogOptimWrapper(DeferredGradNormMixin, OptimWrapper):
    """``OptimWrapper`` whose gradient norm is read back once per logging interval."""


@OPTIM_WRAPPERS.register_module()
class DeferredLogAmpOptimWrapper(DeferredGradNormMixin, AmpOptimWrapper):
    """``AmpOptimWrapper`` whose gradient norm is read back once per logging interval."""
