"""MMAVS registries.

Each registry is a child of the MMEngine root registry of the same name, so that the stock Runner builds
mmavs components when ``default_scope='mmavs'`` and falls back to MMEngine's (and, with the ``mmseg.``
prefix, mmsegmentation's) components otherwise. ``locations`` makes the registries import the modules
that register into them lazily, the first time a type is looked up.

:data:`CAPTIONERS` (the offline caption backends of :mod:`mmavs.captioning`) has no MMEngine counterpart:
it is a root registry of the ``mmavs`` scope.
"""
from typing import Any

from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

#: The scope of every mmavs registry (and the ``default_scope`` of the configs).
MMAVS_SCOPE = 'mmavs'


def _child(parent: Registry, *locations: str) -> Registry:
    """The mmavs registry under MMEngine's ``parent``: same name, scope ``mmavs``, lazy ``locations``."""
    return Registry(parent.name, parent=parent, scope=MMAVS_SCOPE, locations=list(locations))


RUNNERS = _child(MMENGINE_RUNNERS)
LOOPS = _child(MMENGINE_LOOPS)
HOOKS = _child(MMENGINE_HOOKS, 'mmavs.engine')

DATASETS = _child(MMENGINE_DATASETS, 'mmavs.datasets')
DATA_SAMPLERS = _child(MMENGINE_DATA_SAMPLERS, 'mmavs.datasets')
TRANSFORMS = _child(MMENGINE_TRANSFORMS, 'mmavs.datasets.transforms')

MODELS = _child(MMENGINE_MODELS, 'mmavs.models')
MODEL_WRAPPERS = _child(MMENGINE_MODEL_WRAPPERS, 'mmavs.models')
WEIGHT_INITIALIZERS = _child(MMENGINE_WEIGHT_INITIALIZERS, 'mmavs.models')

OPTIMIZERS = _child(MMENGINE_OPTIMIZERS)
OPTIM_WRAPPERS = _child(MMENGINE_OPTIM_WRAPPERS)
OPTIM_WRAPPER_CONSTRUCTORS = _child(MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS)
PARAM_SCHEDULERS = _child(MMENGINE_PARAM_SCHEDULERS)

METRICS = _child(MMENGINE_METRICS, 'mmavs.evaluation')
EVALUATOR = _child(MMENGINE_EVALUATOR, 'mmavs.evaluation')

TASK_UTILS = _child(MMENGINE_TASK_UTILS, 'mmavs.models')
VISUALIZERS = _child(MMENGINE_VISUALIZERS, 'mmavs.visualization')
VISBACKENDS = _child(MMENGINE_VISBACKENDS)
LOG_PROCESSORS = _child(MMENGINE_LOG_PROCESSORS)

#: Caption backends of ``tools/dataset_converters/generate_captions.py`` (``--backend`` = registered name).
CAPTIONERS = Registry('captioner', scope=MMAVS_SCOPE, locations=['mmavs.captioning'])


# --------------------------------------------------------------------------- building without a default scope
def build_from_mmavs(registry: Registry, cfg: Any) -> Any:
    """Build ``cfg`` now with an mmavs ``registry``, for a config an MMEngine base class would build itself.

    MMEngine's ``BaseModel`` (``data_preprocessor``) and ``BaseDataset`` (``pipeline``) build the configs
    they receive from MMEngine's *root* registries, which know mmavs types only under
    ``default_scope='mmavs'``. Building them here with the mmavs child registry makes them resolve without
    a default scope too, while a current default scope still decides as usual (MMEngine's
    ``switch_scope_and_registry``). Anything that is not a dict (an already built object) passes through.

    Args:
        registry (Registry): The mmavs registry of the object's kind (``MODELS``, ``TRANSFORMS``, ...).
        cfg: A config dict, or an object.

    Returns:
        The built object, or ``cfg`` itself when it is not a dict.
    """
    return registry.build(cfg) if isinstance(cfg, dict) else cfg


def with_mmavs_scope(cfg: dict) -> dict:
    """A copy of ``cfg`` with ``_scope_='mmavs'``, for a config MMEngine builds *later*, by itself.

    Where the object cannot be built in advance (a module's ``init_cfg``, which ``BaseModule.init_weights``
    builds from MMEngine's root ``WEIGHT_INITIALIZERS``), the ``_scope_`` key makes MMEngine's builder
    switch to the mmavs registry for that one build, whatever the default scope. A ``_scope_`` that
    ``cfg`` already names is kept.

    Args:
        cfg (dict): A config dict.

    Returns:
        dict: A shallow copy with the scope set.
    """
    cfg = dict(cfg)
    cfg.setdefault('_scope_', MMAVS_SCOPE)
    return cfg
