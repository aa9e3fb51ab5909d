"""Start-up checks that a work dir can take what a run will write into it.

Without them, a read-only or full work dir surfaces as a raw ``OSError`` from deep inside the Runner
(its log file, the config dump, or the first checkpoint after an epoch of training).
:func:`check_dir_writable` creates the directory if needed and writes (and deletes) a small probe file;
:func:`check_checkpoint_space` compares the free space with an estimate of one checkpoint of the built
model (:func:`estimate_checkpoint_bytes`). Both raise :class:`WorkDirError`, whose message names the
directory.
"""
import errno
import os
import os.path as osp
import shutil
import tempfile
from typing import Optional

import torch.nn as nn

#: Bytes written by the probe (enough to hit a full file system that still accepts empty files).
PROBE_BYTES = 64 * 1024
#: Optimizer moments kept per trainable parameter, by optimizer name (others are assumed to keep 2).
_MOMENTS = {'SGD': 1, 'Adagrad': 1, 'RMSprop': 2, 'Adam': 2, 'AdamW': 2, 'Adamax': 2, 'NAdam': 2,
            'RAdam': 2, 'Lamb': 2, 'Lion': 1}


class WorkDirError(RuntimeError):
    """A directory a run needs to write into is not usable; the message says which and why."""


def _write_probe(directory: str) -> None:
    fd, path = tempfile.mkstemp(prefix='.mmavs-write-probe-', dir=directory)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(b'\0' * PROBE_BYTES)
            f.flush()
            os.fsync(f.fileno())
    finally:
        os.remove(path)


def _reason(exc: OSError) -> str:
    name = errno.errorcode.get(exc.errno, '') if exc.errno else ''
    hint = {
        errno.EROFS: 'the file system is read-only',
        errno.ENOSPC: 'no space left on the device',
        errno.EDQUOT: 'the disk quota is exceeded',
        errno.EACCES: 'permission denied',
        errno.EPERM: 'permission denied',
        errno.ENOTDIR: 'a part of the path is a file, not a directory',
        errno.EEXIST: 'a file of that name exists',
    }.get(exc.errno, exc.strerror or str(exc))
    return f'{hint} ({name}: {exc})' if name else f'{hint} ({exc})'


def check_dir_writable(directory: str, what: str = 'work dir') -> str:
    """Create ``directory`` if needed and check that a file can be written in it.

    Args:
        directory (str): The directory (relative paths are taken from the current directory).
        what (str): How to call it in the error message. Defaults to ``'work dir'``.

    Returns:
        str: The absolute path of the directory.

    Raises:
        WorkDirError: When the directory cannot be created or written into.
    """
    path = osp.abspath(directory)
    try:
        os.makedirs(path, exist_ok=True)
        _write_probe(path)
    except OSError as exc:
        raise WorkDirError(
            f'Cannot write into the {what} {path}: {_reason(exc)}. Choose another directory '
            '(--work-dir) or free / fix it.') from exc
    return path


def estimate_checkpoint_bytes(model: nn.Module, optimizer: Optional[str] = 'AdamW') -> int:
    """Estimate the size of a training checkpoint of ``model``: its state dict plus optimizer moments.

    Args:
        model (nn.Module): The built model (a wrapped model counts through its ``module``).
        optimizer (str, optional): Optimizer type name; decides the moments kept per trainable parameter
            (``None``: weights only). Unknown names count 2 moments.

    Returns:
        int: Estimated bytes.
    """
    model = getattr(model, 'module', model)
    weights = sum(t.numel() * t.element_size() for t in model.state_dict().values()
                  if hasattr(t, 'element_size'))
    if optimizer is None:
        return weights
    trainable = sum(p.numel() * p.element_size() for p in model.parameters() if p.requires_grad)
    return weights + _MOMENTS.get(optimizer, 2) * trainable


def check_checkpoint_space(directory: str, needed_bytes: int, margin: float = 0.1) -> None:
    """Check that ``directory`` has room for one checkpoint of ``needed_bytes`` (plus ``margin``).

    Raises:
        WorkDirError: When the free space is smaller.
    """
    path = osp.abspath(directory)
    free = shutil.disk_usage(path).free
    needed = int(needed_bytes * (1.0 + margin))
    if free < needed:
        raise WorkDirError(
            f'Not enough free space in the work dir {path}: {free / 2**20:.1f} MiB free, a checkpoint of '
            f'this model needs about {needed / 2**20:.1f} MiB. Free space or choose another directory '
            '(--work-dir).')
