"""Checkpoint files are read with ``torch.load(weights_only=True)``, whatever torch's default is.

A pickled checkpoint can run arbitrary code when it is unpickled. torch >= 2.6 defaults to
``weights_only=True``, but older torch (which GPU users may bring) and ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1``
default to a full unpickler, and MMEngine's loaders (``Runner.load_checkpoint`` / ``resume`` /
``load_from``, its ``Pretrained`` initializer, ``mmengine.runner.load_checkpoint``) call ``torch.load``
without saying which. So:

* :func:`safe_torch_load` is the one call mmavs uses to read a checkpoint file: always weights-only, with
  the allow-list of the few MMEngine objects that training checkpoints carry
  (:func:`mmavs.utils.compat.register_checkpoint_safe_globals`), and a ``ValueError`` naming the file when
  it holds anything else.
* :func:`install_safe_checkpoint_loading` makes MMEngine's ``CheckpointLoader.load_checkpoint`` (the
  entry of every MMEngine checkpoint scheme: local files, URLs, ...) run its ``torch.load`` calls
  weights-only as well. It runs when :mod:`mmavs` is imported.
"""
import contextlib
import functools
import pickle
import threading
from typing import IO, Any, Callable, Iterator, Optional, Union

import torch

_LOCK = threading.RLock()
_DEPTH = 0
_ORIGINAL_TORCH_LOAD: Optional[Callable] = None


def _error(source: str, err: BaseException) -> ValueError:
    return ValueError(
        f'Cannot load {source!r} as a weights-only checkpoint ({type(err).__name__}: {err}). mmavs only reads '
        'tensors, plain containers and the few MMEngine objects of its training checkpoints; it never '
        'unpickles arbitrary objects (a checkpoint that needs that is either foreign or malicious).')


def safe_torch_load(f: Union[str, IO[bytes]], map_location: Any = 'cpu', source: Optional[str] = None) -> Any:
    """``torch.load(f, map_location, weights_only=True)`` with the mmavs allow-list.

    Args:
        f (str | file): Checkpoint path or binary file object.
        map_location: As for ``torch.load``. Defaults to ``'cpu'``.
        source (str, optional): Name of the file for messages. Defaults to ``f`` itself.

    Returns:
        The loaded object (tensors, containers, allow-listed MMEngine objects).

    Raises:
        ValueError: The file needs objects outside the allow-list, or is no torch checkpoint (TorchScript
            archives included: ``torch.load`` would hand those to ``torch.jit.load``, which runs their code).
    """
    from .compat import register_checkpoint_safe_globals
    register_checkpoint_safe_globals()
    load = _ORIGINAL_TORCH_LOAD or torch.load
    try:
        return load(f, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as err:
        raise _error(source or str(f), err) from err


def _weights_only_load(*args: Any, **kwargs: Any) -> Any:
    """Stand-in for ``torch.load`` while MMEngine loads a checkpoint: always weights-only."""
    if kwargs.get('weights_only') is False:
        raise ValueError('torch.load(weights_only=False) was requested while loading a checkpoint; mmavs '
                         'loads checkpoints weights-only.')
    kwargs.pop('weights_only', None)
    f = args[0] if args else kwargs.pop('f')
    map_location = args[1] if len(args) > 1 else kwargs.pop('map_location', None)
    return safe_torch_load(f, map_location=map_location, source=getattr(f, 'name', None) or str(f))


@contextlib.contextmanager
def weights_only_torch_load() -> Iterator[None]:
    """Within the block, every ``torch.load`` call is weights-only (re-entrant, thread-safe)."""
    global _DEPTH, _ORIGINAL_TORCH_LOAD
    with _LOCK:
        if _DEPTH == 0:
            _ORIGINAL_TORCH_LOAD = torch.load
            torch.load = _weights_only_load
        _DEPTH += 1
    try:
        yield
    finally:
        with _LOCK:
            _DEPTH -= 1
            if _DEPTH == 0:
                torch.load = _ORIGINAL_TORCH_LOAD
                _ORIGINAL_TORCH_LOAD = None


def install_safe_checkpoint_loading() -> None:
    """Make ``mmengine.runner.CheckpointLoader.load_checkpoint`` load weights-only (idempotent)."""
    from mmengine.runner.checkpoint import CheckpointLoader
    current = CheckpointLoader.__dict__['load_checkpoint'].__func__
    if getattr(current, '_mmavs_weights_only', False):
        return

    @functools.wraps(current)
    def load_checkpoint(cls, filename, map_location=None, logger='current'):
        with weights_only_torch_load():
            return current(cls, filename, map_location, logger)

    load_checkpoint._mmavs_weights_only = True  # type: ignore[attr-defined]
    CheckpointLoader.load_checkpoint = classmethod(load_checkpoint)
