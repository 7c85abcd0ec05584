"""FLOPs from shapes alone: ``count_flops``'s numbers for a model on the meta device, without computing.

mmengine's ``FlopAnalyzer`` traces the model with ``torch.jit`` on real tensors and counts a fixed set of
operators from their shapes (fvcore's handles: linear / matmul / bmm / addmm / einsum / convolution
multiply-adds, norms, bilinear and nearest upsampling, adaptive average pooling, grid sampling, and here
``scaled_dot_product_attention``). A jit trace cannot run on the meta device (its shape checks see traced
sizes), and running a ViT-B detector at 1333x800 on a CPU takes minutes. ``ShapeFlopMode`` sees the same
operators as torch-function calls, counts them with the same formulas and lets them run on meta tensors, so
a count costs what building the model costs. ``tests/test_model_index.py`` checks it against
``count_flops`` on a sample of each task.
"""
import math
from typing import Any, Callable, Dict, Optional, Tuple, Union
from unittest import mock

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode


def _shape(t: Any) -> Optional[Tuple[int, ...]]:
    return tuple(t.shape) if isinstance(t, torch.Tensor) else None


def _arg(args: tuple, kwargs: dict, index: int, name: str, default: Any = None) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def _matmul(a: Tuple[int, ...], b: Tuple[int, ...]) -> int:
    """fvcore's matmul: the first operand's elements times the second's last size (batch dims of the second
    operand that broadcast are not counted, as ``FlopAnalyzer`` does)."""
    a = (1, a[0]) if len(a) == 1 else a
    b = (b[0], 1) if len(b) == 1 else b
    return math.prod(a) * b[-1]


def _einsum(equation: str, *operands: torch.Tensor) -> int:
    """fvcore's einsum: the two batched-matmul forms exactly, any other form by numpy's optimal path / 2."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    shapes = [_shape(o) for o in operands]
    equation = equation.replace(' ', '')
    letters = dict.fromkeys(c for c in equation if c.isalpha())
    equation = equation.translate({ord(c): 97 + i for i, c in enumerate(letters)})
    if equation == 'abc,abd->acd':
        n, c, t = shapes[0]
        return n * c * t * shapes[-1][-1]
    if equation == 'abc,adc->adb':
        n, t, g = shapes[0]
        return n * t * g * shapes[-1][1]
    path = np.einsum_path(equation, *[np.zeros(s) for s in shapes], optimize='optimal')[1]
    for line in path.split('\n'):
        if 'optimized flop' in line.lower():
            return int(np.floor(float(line.split(':')[-1]) / 2))
    raise NotImplementedError(f'einsum {equation!r}')


def _conv(args: tuple, kwargs: dict, out: torch.Tensor, transposed: bool) -> int:
    x, w = _shape(args[0]), _shape(_arg(args, kwargs, 1, 'weight'))
    return x[0] * math.prod(w) * math.prod((x if transposed else out.shape)[2:])


def _norm(input_: Any, weight: Any) -> int:
    return math.prod(input_.shape) * (5 if weight is not None else 4)


def _batch_norm(args: tuple, kwargs: dict) -> int:
    weight, training = _arg(args, kwargs, 3, 'weight'), _arg(args, kwargs, 5, 'training', False)
    if training:
        return _norm(args[0], weight)
    return math.prod(args[0].shape) * (2 if weight is not None else 1)


def _interpolate(args: tuple, kwargs: dict, out: torch.Tensor) -> int:
    mode = _arg(args, kwargs, 3, 'mode', 'nearest')
    if out.dim() != 4:
        return 0  # fvcore counts the 2-d forms only
    return {'nearest': 1, 'bilinear': 4}.get(mode, 0) * math.prod(out.shape)


def _sdpa(args: tuple, kwargs: dict) -> int:
    q, k, v = (_shape(_arg(args, kwargs, i, n)) for i, n in enumerate(('query', 'key', 'value')))
    return math.prod(q[:-2]) * q[-2] * k[-2] * (q[-1] + v[-1])


def _multi_head_attention(args: tuple, kwargs: dict) -> int:
    """``nn.MultiheadAttention``'s functional as the trace records it: the q, k, v and output projections
    (``linear``) and the two attention products (``bmm``, or fused attention: the same multiply-adds)."""
    query, key = args[0], args[1]
    length, source, embed = query.shape[0], key.shape[0], query.shape[-1]
    batch = query.shape[1] if query.dim() == 3 else 1
    extra = int(_arg(args, kwargs, 7, 'bias_k') is not None) + int(bool(_arg(args, kwargs, 9, 'add_zero_attn')))
    projections = (2 * length + 2 * source) * batch * embed * embed
    return projections + 2 * batch * length * (source + extra) * embed


def _table() -> Dict[Callable, Callable[[tuple, dict, Any], int]]:
    """{torch function: multiply-adds from (args, kwargs, output)}, fvcore's formula for each."""
    matmul = lambda a, k, o: _matmul(_shape(a[0]), _shape(a[1]))  # noqa: E731
    return {
        F.linear: lambda a, k, o: math.prod(a[0].shape) * _arg(a, k, 1, 'weight').shape[0],
        torch.matmul: matmul, torch.Tensor.matmul: matmul, torch.Tensor.__matmul__: matmul, torch.mm: matmul,
        torch.Tensor.mm: matmul,
        torch.bmm: lambda a, k, o: math.prod(a[0].shape) * a[1].shape[-1],
        torch.Tensor.bmm: lambda a, k, o: math.prod(a[0].shape) * a[1].shape[-1],
        torch.addmm: lambda a, k, o: math.prod(a[1].shape) * a[2].shape[1],
        torch.einsum: lambda a, k, o: _einsum(*a),
        F.conv1d: lambda a, k, o: _conv(a, k, o, False), F.conv2d: lambda a, k, o: _conv(a, k, o, False),
        F.conv3d: lambda a, k, o: _conv(a, k, o, False),
        F.conv_transpose1d: lambda a, k, o: _conv(a, k, o, True),
        F.conv_transpose2d: lambda a, k, o: _conv(a, k, o, True),
        F.conv_transpose3d: lambda a, k, o: _conv(a, k, o, True),
        F.layer_norm: lambda a, k, o: _norm(a[0], _arg(a, k, 2, 'weight')),
        F.group_norm: lambda a, k, o: _norm(a[0], _arg(a, k, 2, 'weight')),
        F.instance_norm: lambda a, k, o: _norm(a[0], _arg(a, k, 3, 'weight')),
        F.batch_norm: lambda a, k, o: _batch_norm(a, k),
        F.interpolate: lambda a, k, o: _interpolate(a, k, o),
        F.adaptive_avg_pool2d: lambda a, k, o: math.prod(a[0].shape),
        F.grid_sample: lambda a, k, o: 4 * math.prod(o.shape),
        F.scaled_dot_product_attention: lambda a, k, o: _sdpa(a, k),
        F.multi_head_attention_forward: lambda a, k, o: _multi_head_attention(a, k),
    }


class ShapeFlopMode(TorchFunctionMode):
    """Counts ``FlopAnalyzer``'s operators from the shapes of the torch-function calls made under it. The calls
    a torch function makes itself are not seen: ``F.interpolate``'s upsampling call is not counted twice, and a
    functional written in Python that calls counted operators needs its own formula (``nn.MultiheadAttention``'s,
    in the table)."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0
        self.handles = _table()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        handle = self.handles.get(func)
        if handle is None:
            return func(*args, **kwargs)
        out = func(*args, **kwargs)
        self.total += int(handle(args, kwargs, out))
        return out


def count_flops_from_shapes(model: nn.Module, img_size: Union[int, Tuple[int, int]] = 224, in_channels: int = 3,
                            device: Union[str, torch.device] = 'meta') -> int:
    """``count_flops(model, img_size)`` for a model whose forward has no data-dependent step, from shapes alone
    (built on the meta device: no memory, nothing computed)."""
    h, w = (img_size, img_size) if isinstance(img_size, int) else img_size
    was_training = model.training
    model.eval()
    try:
        # the path a jit trace takes: modules that run otherwise when traced (EDIT's fused [CLS] chain runs
        # per step, with the operators the analysers know) run here as ``count_flops`` records them
        with torch.no_grad(), mock.patch('torch.jit.is_tracing', return_value=True), ShapeFlopMode() as mode:
            model(torch.zeros(1, in_channels, h, w, device=device))
        return mode.total
    finally:
        model.train(was_training)
