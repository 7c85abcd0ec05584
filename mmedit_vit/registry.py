"""The ``mmedit_vit`` registry scope (``default_scope = 'mmedit_vit'`` in the classification configs).

Every module of the project is registered in mmengine's root registries, where the mmseg and mmdet
builders find it too. The children below only give configs without an OpenMMLab task package
(classification) a scope of their own: lookups start here, fall through to the root, and are not
steered into another package's scope left current by an earlier runner. ``locations`` imports the
package on first use, so a config needs no ``custom_imports`` to find the modules.
"""
from mmengine.registry import DATA_SAMPLERS as ROOT_DATA_SAMPLERS
from mmengine.registry import DATASETS as ROOT_DATASETS
from mmengine.registry import EVALUATOR as ROOT_EVALUATOR
from mmengine.registry import FUNCTIONS as ROOT_FUNCTIONS
from mmengine.registry import HOOKS as ROOT_HOOKS
from mmengine.registry import INFERENCERS as ROOT_INFERENCERS
from mmengine.registry import LOG_PROCESSORS as ROOT_LOG_PROCESSORS
from mmengine.registry import LOOPS as ROOT_LOOPS
from mmengine.registry import METRICS as ROOT_METRICS
from mmengine.registry import MODEL_WRAPPERS as ROOT_MODEL_WRAPPERS
from mmengine.registry import MODELS as ROOT_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as ROOT_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as ROOT_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as ROOT_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as ROOT_PARAM_SCHEDULERS
from mmengine.registry import RUNNER_CONSTRUCTORS as ROOT_RUNNER_CONSTRUCTORS
from mmengine.registry import RUNNERS as ROOT_RUNNERS
from mmengine.registry import STRATEGIES as ROOT_STRATEGIES
from mmengine.registry import TASK_UTILS as ROOT_TASK_UTILS
from mmengine.registry import TRANSFORMS as ROOT_TRANSFORMS
from mmengine.registry import VISBACKENDS as ROOT_VISBACKENDS
from mmengine.registry import VISUALIZERS as ROOT_VISUALIZERS
from mmengine.registry import WEIGHT_INITIALIZERS as ROOT_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

SCOPE = 'mmedit_vit'
_LOCATIONS = ['mmedit_vit']


def _child(parent: Registry) -> Registry:
    return Registry(parent.name, parent=parent, scope=SCOPE, locations=_LOCATIONS)


RUNNERS = _child(ROOT_RUNNERS)
RUNNER_CONSTRUCTORS = _child(ROOT_RUNNER_CONSTRUCTORS)
LOOPS = _child(ROOT_LOOPS)
HOOKS = _child(ROOT_HOOKS)
STRATEGIES = _child(ROOT_STRATEGIES)
DATASETS = _child(ROOT_DATASETS)
DATA_SAMPLERS = _child(ROOT_DATA_SAMPLERS)
TRANSFORMS = _child(ROOT_TRANSFORMS)
MODELS = _child(ROOT_MODELS)
MODEL_WRAPPERS = _child(ROOT_MODEL_WRAPPERS)
WEIGHT_INITIALIZERS = _child(ROOT_WEIGHT_INITIALIZERS)
OPTIMIZERS = _child(ROOT_OPTIMIZERS)
OPTIM_WRAPPERS = _child(ROOT_OPTIM_WRAPPERS)
OPTIM_WRAPPER_CONSTRUCTORS = _child(ROOT_OPTIM_WRAPPER_CONSTRUCTORS)
PARAM_SCHEDULERS = _child(ROOT_PARAM_SCHEDULERS)
METRICS = _child(ROOT_METRICS)
EVALUATOR = _child(ROOT_EVALUATOR)
TASK_UTILS = _child(ROOT_TASK_UTILS)
VISUALIZERS = _child(ROOT_VISUALIZERS)
VISBACKENDS = _child(ROOT_VISBACKENDS)
LOG_PROCESSORS = _child(ROOT_LOG_PROCESSORS)
INFERENCERS = _child(ROOT_INFERENCERS)
FUNCTIONS = _child(ROOT_FUNCTIONS)
