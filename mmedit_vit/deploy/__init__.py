"""Deployment: ONNX export of the task models, onnxruntime evaluation through the config's own test loop, and
static INT8 quantisation with onnxruntime. Needs the ``deploy`` extra (``pip install mmedit_vit[deploy]``:
onnx, onnxruntime, onnxscript); nothing here is imported by the training code."""
from .errors import ExportError
from .export import ExportResult, export_onnx, onnx_shapes
from .graphs import export_graph, task_of
from .parity import TOLERANCE, relative_errors

__all__ = ['ExportError', 'ExportResult', 'export_onnx', 'onnx_shapes', 'export_graph', 'task_of', 'TOLERANCE',
           'relative_errors']
