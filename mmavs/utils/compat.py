"""Compatibility shims for the stack (see ``docs/get_started.md``), each applied only where it is needed.

Each shim checks the behaviour it works around, so that an install without the problem is left alone,
and its docstring says when it can be deleted:

* :func:`ensure_mmcv_ext`: ``mmcv-lite`` ships no compiled ops (``mmcv._ext``), but ``mmseg.models``
  imports ``mmcv.ops`` at module level. Only when ``mmcv._ext`` cannot be found, a stand-in is registered
  whose functions raise a clear ``NotImplementedError``; a full mmcv install keeps its real extension.
* :func:`register_checkpoint_safe_globals`: torch >= 2.6 loads checkpoints with ``weights_only=True`` (and
  mmavs always does, :mod:`mmavs.utils.safe_load`). MMEngine checkpoints pickle a few non-tensor objects
  in ``message_hub``; exactly those classes are allow-listed, on torch versions that have an allow-list
  (``torch.serialization.add_safe_globals``, torch >= 2.4).
* :func:`patch_history_buffer_pickling`: MMEngine's ``HistoryBuffer.__getstate__`` (0.10.7) also pickles
  references to its own default statistic methods, which pickle as ``getattr(HistoryBuffer, 'min')``
  and would need the builtin ``getattr`` allow-listed. Only for an MMEngine whose ``__getstate__`` does
  that, those defaults are left out of the state (``__setstate__`` re-registers them anyway).
"""
import importlib.machinery
import importlib.util
import sys
import types
from typing import Any, Callable, List, Type

_STANDIN_NAME = 'mmcv._ext'


class _MissingCompiledOp:
    """Callable placeholder for a compiled mmcv op that this install lacks."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f'mmcv compiled op "{self.name}" is not available: this install uses mmcv-lite '
            '(no compiled ops). Install full mmcv built for your torch/CUDA to use it.')


class _ExtStandIn(types.ModuleType):
    """Module whose every attribute is a :class:`_MissingCompiledOp`."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith('__'):
            raise AttributeError(name)
        return _MissingCompiledOp(name)


def is_mmcv_ext_standin(module: object) -> bool:
    """Whether ``module`` is the stand-in ``mmcv._ext`` of :func:`ensure_mmcv_ext`."""
    return isinstance(module, _ExtStandIn)


def ensure_mmcv_ext() -> bool:
    """Register a stand-in ``mmcv._ext`` if the real compiled extension is absent.

    Guard: nothing is done when ``mmcv._ext`` is already imported or can be found (a full mmcv install,
    as GPU users have); the real extension is then neither imported nor replaced here.

    Remove when mmseg no longer imports ``mmcv.ops`` while ``mmseg.models`` is imported (mmseg 1.2.2, the
    release mmavs pins, does: ``point_sample``, ``sigmoid_focal_loss``), or when mmavs requires full mmcv.

    Returns:
        bool: True if a stand-in was installed, False if the real extension (or a stand-in) exists.
    """
    if _STANDIN_NAME in sys.modules:
        return False
    try:
        if importlib.util.find_spec(_STANDIN_NAME) is not None:
            return False
    except (ImportError, ValueError):
        pass
    module = _ExtStandIn(_STANDIN_NAME)
    # A real ModuleSpec: mmengine probes the extension with pkgutil.
    module.__spec__ = importlib.machinery.ModuleSpec(_STANDIN_NAME, loader=None)
    module.__file__ = '<mmavs stand-in for mmcv._ext>'
    sys.modules[_STANDIN_NAME] = module
    try:
        import mmcv
        mmcv._ext = module  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - mmcv is a hard requirement
        pass
    return True


_DEFAULT_STATISTICS = ('min', 'max', 'current', 'mean')


def _history_buffer_getstate(self) -> dict:
    """``HistoryBuffer`` state without references to its built-in statistic methods."""
    from mmengine.logging import HistoryBuffer
    state = dict(self.__dict__)
    state.pop('statistics_methods', None)
    custom = {
        name: method
        for name, method in self._statistics_methods.items()
        if not (name in _DEFAULT_STATISTICS
                and method is getattr(HistoryBuffer, name))
    }
    if custom:
        state['statistics_methods'] = custom
    return state


def pickles_default_statistics(history_buffer: Type) -> bool:
    """Whether ``history_buffer.__getstate__`` puts its default statistic methods into the pickled state.

    Args:
        history_buffer (type): MMEngine's ``HistoryBuffer`` class.

    Returns:
        bool: True for MMEngine versions that need :func:`patch_history_buffer_pickling` (0.10.7 does);
        False for one that leaves them out (or once the patch is applied).
    """
    if history_buffer.__getstate__ is _history_buffer_getstate:
        return False
    state = history_buffer.__getstate__(history_buffer())  # a throwaway buffer: stock __getstate__ mutates it
    methods = state.get('statistics_methods', {}) if isinstance(state, dict) else {}
    return any(methods.get(name) is getattr(history_buffer, name, None) for name in _DEFAULT_STATISTICS)


def patch_history_buffer_pickling() -> bool:
    """Make MMEngine's ``HistoryBuffer`` pickle without function references (idempotent).

    Guard: only applied while :func:`pickles_default_statistics` says this MMEngine needs it.

    Remove when the oldest supported MMEngine's ``HistoryBuffer.__getstate__`` leaves its default
    statistic methods out of the state (then the guard already skips it), or when mmavs no longer loads
    checkpoints weights-only.

    Returns:
        bool: Whether ``HistoryBuffer`` pickles through the patched ``__getstate__`` (now or before).
    """
    from mmengine.logging import HistoryBuffer
    if HistoryBuffer.__getstate__ is _history_buffer_getstate:
        return True
    if not pickles_default_statistics(HistoryBuffer):
        return False
    HistoryBuffer.__getstate__ = _history_buffer_getstate
    return True


def _checkpoint_safe_globals() -> List[Callable]:
    """The classes and functions MMEngine checkpoints pickle besides tensors and plain containers."""
    import numpy as np
    from mmengine.logging import HistoryBuffer
    safe: List[Callable] = [HistoryBuffer, np.ndarray, np.dtype]
    # numpy scalar / array reconstruction helpers (module path differs between numpy 1.x and 2.x)
    for mod_name in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        try:
            mod = importlib.import_module(mod_name)
        except ImportError:
            continue
        for attr in ('_reconstruct', 'scalar'):
            if hasattr(mod, attr):
                safe.append(getattr(mod, attr))
    # dtype classes such as numpy.dtypes.Float64DType (numpy >= 1.25)
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        safe.extend(getattr(dtypes, n) for n in dir(dtypes) if n.endswith('DType'))
    return safe


def register_checkpoint_safe_globals() -> bool:
    """Allow-list the non-tensor objects MMEngine stores in checkpoints for ``weights_only`` loading.

    Guard: only on torch versions with an allow-list (``torch.serialization.add_safe_globals``, torch >=
    2.4); older torch has nothing to register. The ``HistoryBuffer`` pickling patch is applied with it
    (:func:`patch_history_buffer_pickling`, itself guarded), since only weights-only loading needs it.

    Remove when MMEngine stops pickling ``HistoryBuffer`` and numpy objects into ``message_hub`` (or
    registers them itself), so that its checkpoints load weights-only without an allow-list.

    Returns:
        bool: Whether the objects were allow-listed.
    """
    import torch
    if not hasattr(torch.serialization, 'add_safe_globals'):
        return False
    torch.serialization.add_safe_globals(_checkpoint_safe_globals())
    patch_history_buffer_pickling()
    return True
