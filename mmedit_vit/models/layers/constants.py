"""Tensors that depend only on shapes (index maps, interpolation matrices), built once per key.

A training step that rebuilt them would launch their small kernels every time, and an index built on the host
would be copied to the device on every use; cached on the device they cost nothing after the first step.
"""
from typing import Callable, Dict, Hashable

import torch

_CONSTANTS: Dict[Hashable, torch.Tensor] = {}
MAX_ENTRIES = 128


def cached_constant(key: Hashable, build: Callable[[], torch.Tensor]) -> torch.Tensor:
    """``build()``, computed once per ``key`` (which must name everything the tensor depends on: sizes, device,
    dtype). Under ``torch.compile`` it is built in the graph, a constant there; outside, it is built with
    inference mode off, so a tensor first made during inference can be saved for a later backward."""
    if torch.compiler.is_compiling():
        return build()
    if key not in _CONSTANTS:
        if len(_CONSTANTS) >= MAX_ENTRIES:
            _CONSTANTS.clear()
        with torch.inference_mode(False):
            _CONSTANTS[key] = build()
    return _CONSTANTS[key]


def clear_constants() -> None:
    """Drops every cached tensor (frees device memory held by them)."""
    _CONSTANTS.clear()
