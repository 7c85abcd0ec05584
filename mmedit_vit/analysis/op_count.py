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
from typing import Callable, Dict, List, Tuple

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


# operators that only make a view or alias (metadata, no kernel on a GPU)
VIEW_OPS = frozenset(('view', 't', 'transpose', 'expand', 'detach', 'slice', 'select', 'alias', '_unsafe_view',
                      'unsqueeze', 'squeeze', 'split', 'unbind', 'as_strided', 'permute', '_reshape_alias'))
# scalar reads of tensors that live on the host in a GPU run too: on a CPU every tensor is on the host, so
# these are told apart by where they are read (path fragment, function)
HOST_READ_SITES = (
    ('torch/optim/', '_get_value'),  # torch's optimisers keep ``step`` on the host (not capturable / fused)
    ('timm/optim/_helpers.py', '_get_value'),  # timm's LAMB keeps its ``step`` on the host
    ('mmengine/model/utils.py', 'stack_batch'),  # padding sizes from a tensor of image shapes built on the host
)


class OpCounter(TorchDispatchMode):
    """Counts the aten operators dispatched while active (forward and backward), and the syncs among them.

    ``by_name``: operator overload name -> count; ``sync_calls``: the syncing calls, in order, each with
    the innermost frame of project or library code that asked for it, so a test failure says where it
    comes from; ``host_reads``: the same for scalar reads of host-resident tensors (``HOST_READ_SITES``),
    which cost a GPU run nothing.
    """

    def __init__(self) -> None:
        super().__init__()
        self.by_name: Counter = Counter()
        self.sync_calls: List[str] = []
        self.host_reads: List[str] = []

    @property
    def total(self) -> int:
        return sum(self.by_name.values())

    @property
    def launches(self) -> int:
        """Operators that are not views: kernel launches on a GPU."""
        return sum(n for name, n in self.by_name.items() if name.split('.')[1] not in VIEW_OPS)

    @property
    def syncs(self) -> int:
        return len(self.sync_calls)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        self.by_name[str(func)] += 1
        if is_sync(func, args, kwargs):
            where, host = _caller()
            (self.host_reads if host else self.sync_calls).append(f'{func} at {where}')
        return func(*args, **kwargs)


def _caller() -> Tuple[str, bool]:
    """Where a scalar read was asked for (innermost frame outside torch), and whether
    that is a read of a host-resident tensor."""
    import traceback
    frames = [f for f in traceback.extract_stack() if 'op_count.py' not in f.filename]
    host = any(part in f.filename and f.name == name for f in frames[-8:] for part, name in HOST_READ_SITES)
    for frame in reversed(frames):
        if '/torch/' not in frame.filename:
            return f'{frame.filename}:{frame.lineno} ({frame.name})', host
    return '?', host


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
