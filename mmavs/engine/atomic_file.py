"""Atomic writes of local files, and an MMEngine file backend that writes that way.

A file written with :func:`atomic_write` either keeps its previous content or has the complete new
content: the bytes go to a temporary file in the same directory (so that the rename stays on one file
system), are flushed to disk, and the temporary file is renamed onto the target with :func:`os.replace`.
A process killed while writing leaves at most a hidden ``.<name>.<random>.mmavs-tmp`` file beside the
target; :func:`remove_stale_temp_files` deletes such leftovers.

:class:`AtomicLocalBackend` is MMEngine's ``LocalBackend`` with atomic ``put`` / ``put_text``; it is
registered in MMEngine's file backends as :data:`ATOMIC_BACKEND`, so ``backend_args=dict(backend=
ATOMIC_BACKEND)`` makes MMEngine's ``save_checkpoint`` write atomically.
"""
import glob
import os
import os.path as osp
import tempfile
from contextlib import suppress
from pathlib import Path
from typing import List, Union

from mmengine.fileio import LocalBackend, register_backend

#: Name of :class:`AtomicLocalBackend` in MMEngine's file backends.
ATOMIC_BACKEND = 'mmavs_atomic_local'
#: Suffix of the temporary files written by :func:`atomic_write`.
TEMP_SUFFIX = '.mmavs-tmp'


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(directory: str) -> None:
    """Flush a directory entry (the rename) to disk where the platform allows it."""
    with suppress(OSError, AttributeError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path: Union[str, Path], data: bytes, sync: bool = True) -> None:
    """Write ``data`` to ``path`` so that ``path`` never holds a partial file.

    Missing parent directories are created. The file gets the permissions a plain ``open(path, 'wb')``
    would give it (``0o666`` minus the umask). If anything fails (or the process is killed) before the
    final rename, ``path`` is left as it was.

    Args:
        path (str | Path): The file to write.
        data (bytes): Its new content.
        sync (bool): Flush the file and the rename to disk (``fsync``), so that the new content also
            survives a crash of the machine. False keeps the rename atomic for other processes but
            leaves flushing to the OS (for many small files, e.g. predicted masks). Defaults to True.
    """
    path = osp.abspath(str(path))
    directory = osp.dirname(path)
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=directory, prefix=f'.{osp.basename(path)}.', suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            if sync:
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with suppress(OSError):
            os.remove(tmp)
        raise
    if sync:
        _fsync_dir(directory)


def remove_stale_temp_files(directory: Union[str, Path]) -> List[str]:
    """Delete the temporary files that killed :func:`atomic_write` calls left in ``directory``.

    Args:
        directory (str | Path): The directory to clean (not recursively).

    Returns:
        list[str]: The paths removed.
    """
    removed = []
    for tmp in glob.glob(osp.join(glob.escape(str(directory)), f'.*{TEMP_SUFFIX}')):
        with suppress(OSError):
            os.remove(tmp)
            removed.append(tmp)
    return removed


class AtomicLocalBackend(LocalBackend):
    """MMEngine's ``LocalBackend`` whose ``put`` and ``put_text`` write atomically (see :func:`atomic_write`)."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Write bytes to ``filepath`` atomically."""
        atomic_write(filepath, obj)

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = 'utf-8') -> None:
        """Write text to ``filepath`` atomically."""
        atomic_write(filepath, obj.encode(encoding))


register_backend(ATOMIC_BACKEND, AtomicLocalBackend, force=True)
