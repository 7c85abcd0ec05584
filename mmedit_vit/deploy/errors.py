"""Export failures reported by module, not by tracer traceback."""
from contextlib import contextmanager
from typing import Iterator, List

from torch import nn


class ExportError(RuntimeError):
    """A model (or one of its modules) that cannot be exported as asked."""


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

