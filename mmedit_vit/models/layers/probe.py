"""Hook points that expose attention maps and gate scores of the running model.

Modules that can expose maps (attention, gates, the EDIT decoder) hold a ``MapProbe`` and only
compute and pass maps through it while ``expose_maps`` is set, so the probes cost nothing otherwise.
``capture_maps`` switches them on for one block of code and collects what passes through.
"""
from contextlib import contextmanager
from typing import Dict, Iterator, List

import torch
from torch import nn


class MapProbe(nn.Identity):
    """Identity module whose forward hooks see the maps passed through it."""


@contextmanager
def capture_maps(model: nn.Module, detach: bool = True) -> Iterator[Dict[str, List[torch.Tensor]]]:
    """Collect every map passed through a ``MapProbe`` of ``model`` while the context is open.

    Yields a dict from probe name (e.g. ``blocks.3.attn.attn_probe``) to the list of tensors it saw,
    one per call: a module shared across depths (EDIT's decoder) contributes one entry per depth.
    """
    maps: Dict[str, List[torch.Tensor]] = {}
    handles = []
    exposing = [m for m in model.modules() if hasattr(m, 'expose_maps')]
    for name, module in model.named_modules():
        if isinstance(module, MapProbe):
            def hook(_, __, output, name=name):
                maps.setdefault(name, []).append(output.detach() if detach else output)
            handles.append(module.register_forward_hook(hook))
    previous = [m.expose_maps for m in exposing]
    for m in exposing:
        m.expose_maps = True
    try:
        yield maps
    finally:
        for m, flag in zip(exposing, previous):
            m.expose_maps = flag
        for h in handles:
            h.remove()
