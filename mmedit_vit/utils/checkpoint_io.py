"""Reading checkpoints with ``torch.load(weights_only=True)``, mmengine's own files included.

Every read goes through ``load_checkpoint_file``: it passes ``weights_only=True`` explicitly, which
``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` cannot override, and ``use_weights_only_loader`` installs it as
mmengine's loader for local files and URLs, so ``load_from``, ``--resume`` and every ``Pretrained``
init (list form included) read through it too.
"""
import codecs
import os
import pickle
from typing import Any, Optional

import numpy as np
import torch

_registered = False


class CheckpointReadError(ValueError):
    """A checkpoint file cannot be read (empty, truncated, not a torch file); the message names it."""


class UnsafeCheckpointError(CheckpointReadError):
    """A checkpoint holds pickled objects other than tensors and plain data; it is not loaded."""


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


def _read_error(path: str, err: BaseException) -> CheckpointReadError:
    text = str(err)
    if isinstance(err, pickle.UnpicklingError) and 'Weights only load failed' in text:
        # torch's message: a boilerplate first line, the reason, then a pointer to its documentation
        reasons = [line.strip() for line in text.splitlines()[1:]
                   if line.strip() and not line.startswith('Check the documentation')]
        detail = ' '.join(reasons) or 'a global that is not allow-listed'
        return UnsafeCheckpointError(
            f'refusing to load checkpoint {path}: it contains pickled Python objects that weights-only loading '
            f'does not allow ({detail}). Loading it could run code from the file; only tensors and plain data '
            'are read (whatever TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD says). Re-save the weights alone '
            "(torch.save({'state_dict': model.state_dict()}, path)) in a trusted environment.")
    size = os.path.getsize(path)
    if size == 0:
        return CheckpointReadError(f'checkpoint {path} is empty (0 bytes): the file was not written completely; '
                                   'use an earlier checkpoint')
    return CheckpointReadError(f'checkpoint {path} ({size} bytes) cannot be read as a torch checkpoint: '
                               f'{type(err).__name__}: {text.splitlines()[0] if text else ""}. The file is '
                               'truncated or not a checkpoint; use an earlier checkpoint')


def load_checkpoint_file(path: str, map_location: Optional[Any] = 'cpu') -> Any:
    """Loads a checkpoint, refusing pickled code; a missing, empty or truncated file names the path.
    An http(s) URL is downloaded once into torch's hub cache and read the same way."""
    if path.startswith(URL_SCHEMES):
        return _load_url(path, map_location)
    path = os.path.expanduser(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'checkpoint file not found: {path}')
    register_mmengine_safe_globals()
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001  (torch raises many kinds for a damaged file; all name it here)
        raise _read_error(path, err) from err


def read_checkpoint_meta(path: str) -> dict:
    """The ``meta`` entry of a training checkpoint (seed, iteration, ...), read without loading its tensors
    (memory-mapped); ``{}`` when it has none."""
    path = os.path.expanduser(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'checkpoint file not found: {path}')
    register_mmengine_safe_globals()
    try:
        checkpoint = torch.load(path, map_location='cpu', weights_only=True, mmap=True)
    except RuntimeError:  # a file in torch's legacy (non-zip) format cannot be memory-mapped
        checkpoint = load_checkpoint_file(path)
    except Exception as err:  # noqa: BLE001  (as load_checkpoint_file: every kind names the file)
        raise _read_error(path, err) from err
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    return dict(meta) if isinstance(meta, dict) else {}


URL_SCHEMES = ('http://', 'https://')


def _load_url(url: str, map_location: Optional[Any] = None, model_dir: Optional[str] = None, **_) -> Any:
    """URLs: downloaded once into torch's hub cache (``$TORCH_HOME/hub/checkpoints``), then read like a
    local file (weights only)."""
    from urllib.parse import urlparse

    from torch.hub import download_url_to_file, get_dir
    model_dir = model_dir or os.path.join(get_dir(), 'checkpoints')
    os.makedirs(model_dir, exist_ok=True)
    target = os.path.join(model_dir, os.path.basename(urlparse(url).path))
    if not os.path.isfile(target):
        download_url_to_file(url, target, progress=False)
    return load_checkpoint_file(target, map_location)


def _refuse_scheme(filename: str, *args, **kwargs) -> Any:
    raise CheckpointReadError(
        f'checkpoint {filename!r}: only local files and http(s) URLs are read (weights-only); download the '
        'file and give its path')


def use_weights_only_loader() -> None:
    """Makes mmengine's ``CheckpointLoader`` read local files and URLs through ``load_checkpoint_file``
    and refuse the schemes whose loaders call ``torch.load`` with its default."""
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(prefixes='', loader=load_checkpoint_file, force=True)
    CheckpointLoader.register_scheme(prefixes=URL_SCHEMES, loader=_load_url, force=True)
    CheckpointLoader.register_scheme(
        prefixes=('pavi://', r'(\S+\:)?s3://', r'(\S+\:)?petrel://', 'modelzoo://', 'torchvision://',
                  'open-mmlab://', 'openmmlab://', 'mmcls://'),
        loader=_refuse_scheme, force=True)
