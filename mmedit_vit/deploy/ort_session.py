"""An onnxruntime session that takes and returns torch tensors, with the graph's shape checked up front."""
from typing import List, Optional, Sequence

import torch

CPU = 'CPUExecutionProvider'
CUDA = 'CUDAExecutionProvider'


def check_onnx_file(path: str) -> None:
    import os.path as osp
    if not osp.isfile(path):
        raise FileNotFoundError(f'ONNX file {path!r} does not exist')


class OrtSession:
    """``OrtSession(path)(inputs)`` -> the graph's outputs, as tensors on the inputs' device.

    ``providers``: onnxruntime execution providers in order of preference, names or (name, options) pairs
    (default: the CPU); a requested provider that this onnxruntime build lacks is an error, not a silent
    fall-back to the CPU.
    """

    def __init__(self, path: str, providers: Optional[Sequence[str]] = None, threads: Optional[int] = None) -> None:
        import onnxruntime as ort
        check_onnx_file(path)
        providers = list(providers or [CPU])  # names, or (name, options) pairs
        missing = [p for p in providers if (p if isinstance(p, str) else p[0]) not in ort.get_available_providers()]
        if missing:
            raise ValueError(f'onnxruntime providers {missing} are not available in this build; available: '
                             f'{ort.get_available_providers()}')
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.path = path
        self.session = ort.InferenceSession(path, options, providers=providers)
        (graph_input,) = self.session.get_inputs()
        self.input_name = graph_input.name
        self.input_shape = list(graph_input.shape)
        self.output_names = [o.name for o in self.session.get_outputs()]

    def check_shape(self, shape: Sequence[int]) -> None:
        """Rejects an input the graph cannot take, naming the fixed axes (export with --dynamic for others)."""
        if len(shape) != len(self.input_shape) or any(
                isinstance(want, int) and want != got for want, got in zip(self.input_shape, shape)):
            raise ValueError(f'{self.path}: input of shape {list(shape)} does not fit the graph\'s {self.input_name!r} '
                             f'{self.input_shape}; export the model at this size or with --dynamic')

    def __call__(self, inputs: torch.Tensor) -> List[torch.Tensor]:
        self.check_shape(inputs.shape)
        array = inputs.detach().to('cpu', torch.float32).contiguous().numpy()
        outputs = self.session.run(self.output_names, {self.input_name: array})
        return [torch.from_numpy(o).to(inputs.device) for o in outputs]

    def providers(self) -> List[str]:
        return self.session.get_providers()
