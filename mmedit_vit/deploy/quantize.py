"""Static INT8 quantisation of an exported graph with onnxruntime: QDQ format, per-channel weights (int8,
symmetric) and per-tensor activations (uint8) whose ranges are calibrated on a few images.

Per-tensor activation scales are where transformers lose accuracy: one outlier channel stretches the range of
the whole tensor and the other channels keep few levels (Bondarenko et al. 2023). The calibration method
decides how that range is chosen: 'minmax' keeps the extremes, 'percentile' clips at the 99.999th percentile,
'entropy' minimises the KL divergence of the histogram, 'distribution' fits the value distribution.
"""
from typing import Sequence

import numpy as np

CALIBRATION_METHODS = ('minmax', 'entropy', 'percentile', 'distribution')
# the operators computed in INT8: every linear layer, attention product and convolution (W8A8 as in Bondarenko
# et al.); LayerNorm, Softmax, GELU and the residual additions stay in float, as INT8 kernels of them are rare
QUANTIZED_OPS = ('MatMul', 'Gemm', 'Conv')


def quantize_int8(fp32_path: str, int8_path: str, calibration: Sequence[np.ndarray], method: str = 'minmax',
                  input_name: str = 'input') -> str:
    """Writes the INT8 model of ``fp32_path`` to ``int8_path``, calibrated on the (1, 3, H, W) ``calibration``
    arrays; returns ``int8_path``."""
    import os
    import tempfile

    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from .calibration import ArrayReader
    if method not in CALIBRATION_METHODS:
        raise ValueError(f'calibration method {method!r} is not supported; choose one of {CALIBRATION_METHODS}')
    if not len(calibration):
        raise ValueError('quantisation needs at least one calibration image')
    methods = dict(minmax=CalibrationMethod.MinMax, entropy=CalibrationMethod.Entropy,
                   percentile=CalibrationMethod.Percentile, distribution=CalibrationMethod.Distribution)
    with tempfile.TemporaryDirectory() as tmp:
        # shape inference and graph clean-up first, as onnxruntime recommends before quantising
        prepared = os.path.join(tmp, 'prepared.onnx')
        quant_pre_process(fp32_path, prepared, skip_symbolic_shape=False)
        quantize_static(prepared, int8_path, ArrayReader(input_name, calibration), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=methods[method], op_types_to_quantize=list(QUANTIZED_OPS),
                        extra_options=dict(ActivationSymmetric=False, WeightSymmetric=True))
    return int8_path
