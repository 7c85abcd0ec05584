"""Export failures reported by module, not by tracer traceback."""
from contextlib import contextmanager
from typing import Iterator, List

from torch import nn


class ExportError(RuntimeError):
    """A model (or one of its modules) that cannot be exported as asked."""


def grid_modules(model: nn.Module) -> List[str]:
    """Names of the attention modules whose graph depends on the patch grid (windows, relative positions)."""
    return [name for name, m in model.named_modules() if getattr(m, 'needs_grid', False)]


def pooling_modules(model: nn.Module) -> List[str]:
    """Names of the adaptive poolings to a grid other than 1x1 (UperNet's pyramid pooling)."""
    def fixed_grid(m: nn.Module) -> bool:
        size = m.output_size if isinstance(m.output_size, (tuple, list)) else (m.output_size,)
        return any(s not in (1, None) for s in size)
    return [name for name, m in model.named_modules()
            if isinstance(m, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)) and fixed_grid(m)]


def _shown(names: List[str]) -> str:
    return ', '.join(names[:3]) + (f' and {len(names) - 3} more' if len(names) > 3 else '')


def check_dynamic(model: nn.Module) -> None:
    """Refuses ``--dynamic`` for the modules torch 2.11's exporter cannot make size-independent, naming them.

    - windowed and relative-position attention: traced for a symbolic grid, but the decomposition turns their
      head merges into views it then cannot apply (``Cannot view a tensor``);
    - adaptive pooling to a grid (UperNet's PPM, 2x2 / 3x3 / 6x6): recorded as gathers with the example's
      indices, which fail (or read wrong pixels) at any other size.
    Such a model is exported at a fixed size instead, one file per input size.
    """
    names = grid_modules(model)
    if names:
        raise ExportError(f'{_shown(names)}: windowed / relative-position attention cannot be exported with a '
                          'dynamic input size by torch.onnx (its decomposition fails on symbolic window grids); '
                          'export without --dynamic, at the size to be served (--shape H W)')
    names = pooling_modules(model)
    if names:
        raise ExportError(f'{_shown(names)}: adaptive pooling to a fixed grid is exported by torch.onnx with the '
                          "example size's indices and gives wrong results at other sizes; export without "
                          '--dynamic, at the size to be served (--shape H W)')


@contextmanager
def module_trace(model: nn.Module) -> Iterator[List[str]]:
    """Yields the stack of module names being run; after an exception inside a forward pass, the stack
    still holds the path to the module that raised it."""
    stack: List[str] = []
    handles = []

    def enter(name: str) -> None:
        stack.append(name)

    def leave(*_) -> None:  # returns None: the module's output stays as it is
        stack.pop()

    for name, module in model.named_modules():
        handles.append(module.register_forward_pre_hook(lambda m, a, name=name: enter(name)))
        handles.append(module.register_forward_hook(leave))
    try:
        yield stack
    finally:
        for handle in handles:
            handle.remove()


def describe_failure(model: nn.Module, stack: List[str], err: Exception) -> str:
    """One paragraph: the module that failed (when the failure happened while tracing it) and the cause."""
    summary = str(err).strip()
    if '## Exception summary' in summary:  # torch.onnx's report: keep its summary, not its advice
        summary = summary.split('## Exception summary', 1)[1]
    lines = [line.strip() for line in summary.strip().splitlines() if line.strip()]
    summary = ' '.join(line for line in lines[:3] if not line.startswith('(Refer to'))
    if stack:
        name = stack[-1] or '(the whole model)'
        kind = type(model.get_submodule(stack[-1])).__name__ if stack[-1] else type(model).__name__
        return f'module {name} ({kind}) cannot be exported to ONNX: {type(err).__name__}: {summary}'
    return f'torch.onnx could not convert the traced graph: {type(err).__name__}: {summary}'

