"""Model utilities: pretrained checkpoints (key conversion, safe reading, strict loading, offline conversion).

==========================  ===================================================================
module                      job
==========================  ===================================================================
``checkpoint_keys``         families, detection, key conversion (state dicts in and out)
``checkpoint_file``         safe reading of a checkpoint file (weights-only, TorchScript as data)
``torchscript_archive``     reading a TorchScript archive's tensors without running its code
``pretrained_init``         strict, reported loading and the ``Pretrained`` initializer
``checkpoint_converter``    offline conversion of files (builds the backbones to verify)
``converter_cli``           the converter's command line (``tools/model_converters/convert.py``)
``tensor_store``            on-disk entries of the frozen encoders' embedding caches (text, VGGish)
==========================  ===================================================================

The backbones import :mod:`.pretrained_init`, and :mod:`.checkpoint_converter` imports the backbones, so the
converter's names are exported lazily (on first access) to keep the imports pointing one way.
"""
import importlib
from typing import Any

from .checkpoint_file import load_state_dict_file
from .checkpoint_keys import MODEL_ZOO_DOC, ConversionResult, convert_checkpoint, detect_family
from .pretrained_init import (
    AVSPretrainedInit,
    LoadReport,
    load_pretrained,
    load_state_dict_strict,
    pretrained_init_cfg,
    target_kind,
)

#: Names of :mod:`.checkpoint_converter`, imported when first used.
_CONVERTER_NAMES = ('build_target_module', 'check_hash_prefix', 'convert_file', 'infer_pvt_v2_arch')


def __getattr__(name: str) -> Any:
    """Import :mod:`.checkpoint_converter` on first access to one of its names (PEP 562)."""
    if name in _CONVERTER_NAMES:
        return getattr(importlib.import_module(f'{__name__}.checkpoint_converter'), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


__all__ = [
    'MODEL_ZOO_DOC', 'AVSPretrainedInit', 'ConversionResult', 'LoadReport', 'build_target_module',
    'check_hash_prefix', 'convert_checkpoint', 'convert_file', 'detect_family', 'infer_pvt_v2_arch',
    'load_pretrained', 'load_state_dict_file', 'load_state_dict_strict', 'pretrained_init_cfg', 'target_kind'
]
