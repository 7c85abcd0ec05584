"""Counts of what a step dispatches: aten operators (kernel launches on a GPU) and host-device syncs.

A training step on a GPU is bound by kernel launches when its kernels are small; the aten operators it
dispatches are a device-independent measure of them, countable on the CPU. A host-device sync (a value
read back to the host, or an op whose output size depends on data) stalls the launch queue; these are
recognised at dispatch on any device, so a CPU run finds every one a GPU run would pay for.

    with OpCounter() as ops:
        loss = model(x).sum(); loss.backward()
    ops.total, ops.syncs, ops.by_name.most_common(10)
"""
from collections import Counter
from typing import Callable, Dict, List

import torch
from torch.utils._python_dispatch import TorchDispatchMode

aten = torch.ops.aten
# operators that read a value back to the host, or whose output shape depends on tensor values
SYNC_OPS = frozenset(op for op in (
    getattr(aten, '_local_scalar_dense', None),  # .item(), float(t), bool(t), .tolist()
    aten.is_nonzero, aten.equal, aten.nonzero, aten.masked_select,
    aten._unique, aten._unique2, aten.unique_dim, aten.unique_consecutive,
) if op is not None)
# operators that sync only for some arguments: boolean-mask indexing, repeat_interleave without output_size
_MASK_INDEXED = frozenset((aten.index, aten.index_put, aten.index_put_, aten._index_put_impl_))


def _packet(func):
    return getattr(func, 'overloadpacket', func)


def is_sync(func, args, kwargs) -> bool:
    """Whether an aten call forces the host to wait for the device."""
    packet = _packet(func)
    if packet in SYNC_OPS:
        return True
    if packet in _MASK_INDEXED and len(args) > 1:
        indices = args[1] if isinstance(args[1], (list, tuple)) else [args[1]]
        return any(isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in indices)
    if packet is aten.repeat_interleave and args and isinstance(args[0], torch.Tensor) and len(args) == 1:
        return kwargs.get('output_size') is None
    return False


class OpCounter(TorchDispatchMode):
    """Counts the aten operators dispatched while active (forward and backward), and the syncs among them.

    ``by_name``: operator overload name -> count; ``sync_calls``: the syncing calls, in order, each with
    the Python stack's innermost frame in project code, so a test failure says where the sync comes from.
    """

    def __init__(self, where: bool = True) -> None:
        super().__init__()
        self.by_name: Counter = Counter()
        self.sync_calls: List[str] = []
        self._where = where

    @property
    def total(self) -> int:
        return sum(self.by_name.values())

    @property
    def syncs(self) -> int:
        return len(self.sync_calls)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        self.by_name[str(func)] += 1
        if is_sync(func, args, kwargs):
            self.sync_calls.append(f'{func} at {_caller() if self._where else "?"}')
        return func(*args, **kwargs)


def _caller() -> str:
    """The innermost frame of the running Python stack outside torch (where a sync was asked for)."""
    import traceback
    for frame in reversed(traceback.extract_stack()):
        if '/torch/' not in frame.filename and 'op_count.py' not in frame.filename:
            return f'{frame.filename}:{frame.lineno} ({frame.name})'
    return '?'


def count_ops(step: Callable[[], object]) -> OpCounter:
    """Runs ``step`` once under an ``OpCounter`` and returns it."""
    with OpCounter() as counter:
        step()
    return counter


def op_table(counts: Dict[str, OpCounter], reference: str) -> List[str]:
    """Markdown rows: operators and syncs per step, and the operator ratio to ``reference``."""
    lines = ['| model | aten ops / step | x ' + reference + ' | syncs |', '|---|---:|---:|---:|']
    for name, c in counts.items():
        lines.append(f'| {name} | {c.total} | {c.total / counts[reference].total:.3f} | {c.syncs} |')
    return lines
