"""Task models whose network runs through onnxruntime: the config's own data preprocessor, test loop,
post-processing and evaluator around an exported graph (``tools/test.py CONFIG model.onnx``).

Each is the config's model class with the traced part replaced: ``OnnxImageClassifier``'s logits and
``OnnxEncoderDecoder``'s ``encode_decode`` (whole or sliding-window inference, resize to the image and the
metric follow mmseg's code) come from the file. The PyTorch modules are built (the config defines them) but hold
no weights that matter: nothing is loaded into them and nothing reads them.
"""
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.registry import MODELS

from ..models.classifiers import ImageClassifier
from .ort_session import OrtSession

# config model type -> the ONNX-backed type that replaces it
ONNX_MODEL_TYPES: Dict[str, str] = {'ImageClassifier': 'OnnxImageClassifier', 'EncoderDecoder': 'OnnxEncoderDecoder'}


class OnnxBacked:
    """Holds the session; ``onnx_file`` and ``providers`` are the extra constructor arguments."""

    def _open(self, onnx_file: str, providers: Optional[Sequence[str]]) -> None:
        self.onnx_file = onnx_file
        self.session = OrtSession(onnx_file, providers)

    def loss(self, *args, **kwargs):
        raise RuntimeError(f'{type(self).__name__} runs the exported graph {self.onnx_file!r}: it evaluates, '
                           'it does not train')


@MODELS.register_module()
class OnnxImageClassifier(OnnxBacked, ImageClassifier):
    """``ImageClassifier`` whose logits come from an exported classifier graph."""

    def __init__(self, onnx_file: str, providers: Optional[Sequence[str]] = None, **kwargs) -> None:
        super().__init__(**kwargs)
        if self.test_perturbation and any(p['type'] == 'fgsm' for p in self.test_perturbation):
            raise ValueError('FGSM needs input gradients, which an ONNX graph does not give; evaluate FGSM with '
                             'the PyTorch checkpoint')
        self._open(onnx_file, providers)

    def forward(self, inputs: torch.Tensor, data_samples=None, mode: str = 'tensor'):
        if mode == 'tensor':
            return self.session(inputs)[0]
        return super().forward(inputs, data_samples, mode)


def _register_segmentor() -> None:
    from mmseg.models.segmentors import EncoderDecoder

    @MODELS.register_module()
    class OnnxEncoderDecoder(OnnxBacked, EncoderDecoder):
        """mmseg's ``EncoderDecoder`` whose ``encode_decode`` (logits at the input size) runs the exported
        segmentor graph."""

        def __init__(self, onnx_file: str, providers: Optional[Sequence[str]] = None, **kwargs) -> None:
            super().__init__(**kwargs)
            self._open(onnx_file, providers)

        def encode_decode(self, inputs: torch.Tensor, batch_img_metas: List[dict]) -> torch.Tensor:
            return self.session(inputs)[0]


try:
    _register_segmentor()
except ImportError:  # mmseg absent: classifiers still evaluate
    pass


def onnx_model_config(model_cfg: dict, onnx_file: str, providers: Optional[Sequence[str]] = None) -> dict:
    """The config's ``model`` with its type replaced by the ONNX-backed one (``ONNX_MODEL_TYPES``)."""
    kind = str(model_cfg.get('type', '')).split('.')[-1]
    if kind not in ONNX_MODEL_TYPES:
        raise ValueError(f"model type {model_cfg.get('type')!r} cannot be evaluated from an ONNX file: supported are "
                         f'{sorted(ONNX_MODEL_TYPES)} (a detector exports its backbone and neck features only, '
                         'which have no evaluator of their own)')
    return dict(model_cfg, type=ONNX_MODEL_TYPES[kind], onnx_file=onnx_file,
                providers=list(providers) if providers else None)


def use_onnx_file(cfg, onnx_file: str, providers: Optional[Sequence[str]] = None):
    """Makes ``cfg`` (an mmengine Config) evaluate ``onnx_file`` instead of a checkpoint; a test-time
    augmentation wrapper (``--tta``) keeps wrapping the model, which then runs the file."""
    from .ort_session import check_onnx_file
    check_onnx_file(onnx_file)
    if 'module' in cfg.model and str(cfg.model.get('type', '')).endswith('TTAModel'):
        cfg.model.module = onnx_model_config(cfg.model.module, onnx_file, providers)
    else:
        cfg.model = onnx_model_config(cfg.model, onnx_file, providers)
    cfg.load_from = None
    return cfg
