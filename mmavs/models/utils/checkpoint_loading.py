"""Deprecated: ``mmavs.models.utils.checkpoint_loading`` was split; import from ``mmavs.models.utils``.

Old name -> new home: family detection and key conversion in :mod:`.checkpoint_keys`, file reading in
:mod:`.checkpoint_file`, strict loading and the ``Pretrained`` initializer in :mod:`.pretrained_init`,
offline conversion in :mod:`.checkpoint_converter`. This module only re-exports them.
"""
import warnings

from .checkpoint_converter import build_target_module, check_hash_prefix, convert_file, infer_pvt_v2_arch
from .checkpoint_file import load_state_dict_file
from .checkpoint_keys import (
                              FAMILY_SIGNATURES,
                              MODEL_ZOO_DOC,
                              TARGET_FAMILIES,
                              ConversionResult,
                              StateDict,
                              convert_checkpoint,
                              detect_family,
)
from .pretrained_init import (
                              AVSPretrainedInit,
                              LoadReport,
                              load_pretrained,
                              load_state_dict_strict,
                              pretrained_init_cfg,
                              target_kind,
)

warnings.warn('mmavs.models.utils.checkpoint_loading is deprecated: import from mmavs.models.utils (see the '
              'module docstrings of checkpoint_keys, checkpoint_file, pretrained_init, checkpoint_converter)',
              DeprecationWarning, stacklevel=2)

__all__ = [
    'FAMILY_SIGNATURES', 'MODEL_ZOO_DOC', 'TARGET_FAMILIES', 'AVSPretrainedInit', 'ConversionResult',
    'LoadReport', 'StateDict', 'build_target_module', 'check_hash_prefix', 'convert_checkpoint', 'convert_file',
    'detect_family', 'infer_pvt_v2_arch', 'load_pretrained', 'load_state_dict_file', 'load_state_dict_strict',
    'pretrained_init_cfg', 'target_kind'
]
