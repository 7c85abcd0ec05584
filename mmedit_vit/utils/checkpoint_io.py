"""Reading checkpoints with ``torch.load(weights_only=True)``, mmengine's own files included."""
import codecs
import os
import pickle
from typing import Any

import numpy as np
import torch

_registered = False


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """Stands in for ``getattr`` while unpickling: mmengine's ``HistoryBuffer`` pickles its statistics
    methods as ``getattr(HistoryBuffer, 'mean')``; nothing else may be looked up."""
    from mmengine.logging import HistoryBuffer
    # the built-in four are only entered in _statistics_methods once a buffer has been created
    if obj is HistoryBuffer and name in {'min', 'max', 'mean', 'current', *HistoryBuffer._statistics_methods}:
        return getattr(obj, name)
    raise pickle.UnpicklingError(f'refusing getattr({obj!r}, {name!r}) in a weights-only checkpoint')


def register_mmengine_safe_globals() -> None:
    """Allows the few non-tensor classes mmengine pickles into checkpoints (message hub buffers and
    numpy arrays/scalars), so its checkpoints and ``--resume`` load without unpickling arbitrary code."""
    global _registered
    if _registered:
        return
    from mmengine.logging import HistoryBuffer
    multiarray = np._core.multiarray if hasattr(np, '_core') else np.core.multiarray
    dtype_classes = [getattr(np.dtypes, name) for name in dir(np.dtypes) if name.endswith('DType')]
    torch.serialization.add_safe_globals(
        [HistoryBuffer, np.ndarray, np.dtype, multiarray._reconstruct, multiarray.scalar, bytes, codecs.encode,
         (_history_buffer_getattr, 'builtins.getattr')]
        + dtype_classes)
    _registered = True


def load_checkpoint_file(path: str) -> Any:
    """Loads a checkpoint on the CPU, refusing pickled code; a missing file names the path."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f'checkpoint file not found: {path}')
    register_mmengine_safe_globals()
    return torch.load(path, map_location='cpu', weights_only=True)
