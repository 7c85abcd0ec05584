"""Attention-sink-free Vision Transformers for OpenMMLab: DeiT-III, registers, gated attention,
Context Broadcasting and EDIT backbones.

The models (backbones, layers, classifier) need torch, timm and mmengine only. The training side
(datasets, transforms, hooks, optimiser constructors, metrics; mmseg's decode heads with the GEMM-resize
loss) needs the OpenMMLab stack (mmcv, which brings the opencv that mmengine's hooks import, and mmseg)
and is registered when that is installed. A GPU node with only torch + timm + mmengine can import,
benchmark and time the models (tools/benchmark.py, tools/throughput.py).
"""
import importlib.util
import warnings

from .utils.warning_filters import quiet_tool_warnings

quiet_tool_warnings()  # before the imports below: a tool's console shows its own output, not import noise

from .utils import register_mmengine_safe_globals, use_weights_only_loader  # noqa: E402
from .utils.config_index import cache_config_index  # noqa: E402
from .utils.config_scope import register_config_scope  # noqa: E402
from .version import __version__  # noqa: E402

register_mmengine_safe_globals()
register_config_scope()  # _base_ = ['mmedit_vit::configs/...'] in other projects' configs
cache_config_index()  # mmdet's / mmseg's metafiles parsed once, not for every `mmdet::` base
# imagecorruptions (imported by mmdet's transforms too) imports setuptools' deprecated pkg_resources
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning,
                        module='imagecorruptions')
if importlib.util.find_spec('cv2') is not None:  # mmengine.runner (its CheckpointLoader) imports opencv
    use_weights_only_loader()  # every mmengine checkpoint read is weights-only

from . import models  # noqa: E402  (register modules in mmengine's registries)

if importlib.util.find_spec('mmcv') is not None:
    from . import datasets, engine, evaluation  # noqa: E402,F401
    from .models import necks  # noqa: E402,F401
if importlib.util.find_spec('mmseg') is not None:
    from .models import decode_heads  # noqa: E402,F401

__all__ = ['__version__', 'datasets', 'engine', 'evaluation', 'models']
