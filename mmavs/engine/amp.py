"""The optim-wrapper config of mixed-precision training (MMEngine's ``AmpOptimWrapper``), for ``tools/train.py
--amp`` and the benchmark's ``--amp``: one conversion and one name table for both."""
import copy
from typing import Mapping, Optional

#: ``--amp`` dtype names -> the ``dtype`` of ``AmpOptimWrapper`` (also the name of the ``torch`` dtype).
AMP_DTYPE_NAMES = dict(fp16='float16', bf16='bfloat16')


def amp_optim_wrapper(optim_wrapper: Mapping, dtype: Optional[str] = None) -> dict:
    """A copy of an ``OptimWrapper`` config as an ``AmpOptimWrapper`` one.

    Args:
        optim_wrapper (Mapping): The config's ``optim_wrapper`` (an ``OptimWrapper`` or already an
            ``AmpOptimWrapper``).
        dtype (str, optional): 'fp16' or 'bf16'; None keeps the config's (MMEngine's default: float16).

    Returns:
        dict: The ``AmpOptimWrapper`` config (``loss_scale`` 'dynamic' unless the config sets one).

    Raises:
        ValueError: Another wrapper type, or an unknown dtype.
    """
    wrapper = copy.deepcopy(dict(optim_wrapper))
    kind = wrapper.get('type', 'OptimWrapper')
    if kind not in ('OptimWrapper', 'AmpOptimWrapper'):
        raise ValueError(f'AMP converts an OptimWrapper, but the config uses {kind}')
    if dtype is not None and dtype not in AMP_DTYPE_NAMES:
        raise ValueError(f'the AMP dtype must be one of {sorted(AMP_DTYPE_NAMES)}, got {dtype!r}')
    wrapper['type'] = 'AmpOptimWrapper'
    wrapper.setdefault('loss_scale', 'dynamic')
    if dtype is not None:
        wrapper['dtype'] = AMP_DTYPE_NAMES[dtype]
    return wrapper
