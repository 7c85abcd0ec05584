"""ONNX export of a task model with torch.onnx's dynamo exporter (``torch.export``, opset 18).

Export-only code paths in the model are selected by ``torch.onnx.is_in_onnx_export()``: the position embedding
is resampled in the graph at every input size (bicubic at the stored grid is the identity) and attention is
written out explicitly instead of the fused kernel. Windows and relative positions follow the traced grid
(``models/layers/windows.py``), and a dynamic export pools UperNet's pyramid with bins computed in the graph
(``grid_pool.py``). EDIT's [CLS] chain records its per-step form, as under ``torch.compile``
(``torch.compiler.is_compiling()`` is true while torch.export traces), not its hand-written autograd node.
Training and eager inference never take these paths.
"""
import warnings
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import torch
from torch import nn

from .errors import ExportError, describe_failure, module_trace
from .graphs import INPUT_NAME, export_graph, output_names
from .grid_pool import with_graph_pooling

DYNAMIC_AXES = {0: 'batch', 2: 'height', 3: 'width'}
OPSET = 18


@dataclass
class ExportResult:
    """What was written: the file, the task, the graph's input / output names and their shapes (names of
    dynamic axes as strings)."""
    path: str
    task: str
    input_name: str
    input_shape: List
    output_names: List[str]
    output_shapes: List[List] = field(default_factory=list)


def onnx_shapes(path: str) -> Dict[str, List]:
    """Name -> shape (an int per fixed axis, the axis name per dynamic one) of a file's inputs and outputs."""
    import onnx
    graph = onnx.load(path, load_external_data=False).graph
    return {v.name: [d.dim_param if d.dim_param else d.dim_value for d in v.type.tensor_type.shape.dim]
            for v in list(graph.input) + list(graph.output)}


def check_other_size(graph: nn.Module, path: str, shape: Tuple[int, int]) -> None:
    """Runs a dynamic export at ``shape`` (not the traced size) and compares it with PyTorch."""
    from .ort_session import OrtSession
    from .parity import TOLERANCE, compare
    try:
        errors = compare(graph, OrtSession(path), torch.randn(1, 3, *shape))
    except Exception as err:  # noqa: BLE001  (onnxruntime's failure, reported with the size)
        raise ExportError(f'the dynamic graph fails at input size {shape}: {type(err).__name__}: {err}') from err
    bad = {name: error for name, error in errors.items() if error > TOLERANCE}
    if bad:
        raise ExportError(f'the dynamic graph is wrong at input size {shape} (relative errors {bad} above '
                          f'{TOLERANCE:g}): a module depends on the traced size; export without --dynamic')


def export_onnx(model: nn.Module, path: str, shape: Tuple[int, int], dynamic: bool = False,
                metadata: Optional[Dict[str, str]] = None) -> ExportResult:
    """Exports ``model`` (a task model built from a config) to ``path``.

    The batch axis is always dynamic; ``dynamic`` also makes height and width dynamic (one file for every input
    size; adaptive poolings to a grid are traced as ``GridPool2d``) and runs the file at a second size against
    PyTorch (the model's own modules). ``metadata`` is stored in the file's ``metadata_props`` (task,
    normalisation, config). Any failure is an ``ExportError`` naming the module.
    """
    import onnx
    graph, task = export_graph(model)
    traced = with_graph_pooling(graph) if dynamic else graph
    example = torch.randn(2, 3, *shape)  # batch 2: a batch of 1 would be specialised
    with torch.no_grad():
        outputs = traced(example)
    names = output_names(task, 1 if isinstance(outputs, torch.Tensor) else len(outputs))
    axes = DYNAMIC_AXES if dynamic else {0: 'batch'}
    with module_trace(traced) as stack, warnings.catch_warnings():
        warnings.filterwarnings('ignore', category=FutureWarning)  # the exporter's own deprecation notices
        try:
            torch.onnx.export(traced, (example,), path, input_names=[INPUT_NAME], output_names=names,
                              dynamic_shapes={'inputs': axes}, opset_version=OPSET, dynamo=True,
                              external_data=False, verbose=False)
        except Exception as err:  # noqa: BLE001  (any tracer / converter failure becomes one clear message)
            raise ExportError(describe_failure(traced, stack, err)) from err
    shapes = onnx_shapes(path)
    got = shapes[INPUT_NAME]
    fixed = [name for axis, name in axes.items() if not isinstance(got[axis], str)]
    if fixed:
        raise ExportError(f'the exported graph fixed the {fixed} axes of {INPUT_NAME!r} (shape {got}): a module '
                          'branches on the input size; it works only at the export size')
    if dynamic:  # a shape-dependent branch the tracer resolved silently shows up as a wrong output elsewhere
        check_other_size(graph, path, (shape[0] + 32, shape[1] + 64))
    if metadata:
        proto = onnx.load(path)
        onnx.helper.set_model_props(proto, {str(k): str(v) for k, v in metadata.items()})
        onnx.save(proto, path)
    return ExportResult(path=path, task=task, input_name=INPUT_NAME, input_shape=got, output_names=names,
                        output_shapes=[shapes[n] for n in names])
