"""Keep glibc's malloc from unmapping and re-faulting the memory of a model's tensors on the CPU.

PyTorch's CPU tensors come from the C library's ``malloc``. glibc serves blocks above its *mmap threshold* with a
fresh ``mmap`` and returns them to the kernel on free, and gives the top of the heap back (``trim``) once more
than the *trim threshold* is free there; both thresholds start small (128 KiB) and move with the sizes freed. A
forward / backward pass allocates and frees feature maps of 1-30 MB all the time, so a large share of them land
on memory the kernel hands out again page by page: the small ICF config's training step took 15,000 page faults
per step here, none when glibc kept the memory, and its time went from 0.17-0.19 to 0.14-0.15 s
(docs/benchmark.md). Fixing the mmap threshold at glibc's maximum (32 MiB) and the trim threshold at 256 MiB keeps
that memory in the process for the next step; the peak resident memory stays the same (measured), as a pass
reuses what the previous one freed.

This is what the ``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_`` environment variables do, set from
inside the process because a toolbox cannot set its users' environment; jemalloc or tcmalloc
(``LD_PRELOAD``), which PyTorch's CPU tuning guide recommends for the same reason, do it differently. No Python
package exposes ``mallopt``, hence the few ``ctypes`` lines here.
"""
import ctypes
import ctypes.util
import os
import platform
from typing import Optional

#: glibc's ``mallopt`` parameters (``malloc.h``).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3

#: The thresholds set (bytes): the mmap threshold at glibc's 64-bit maximum, the trim threshold at 256 MiB.
MMAP_THRESHOLD = 32 * 1024 * 1024
TRIM_THRESHOLD = 256 * 1024 * 1024

#: Environment variable that turns the tuning off (``0``, ``false``, ``off``, ``no``).
OPT_OUT_ENV = 'MMAVS_MALLOC_TUNING'

#: What the user may have chosen already; any of these set leaves malloc as it is.
USER_SETTINGS = ('MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_', 'GLIBC_TUNABLES')

_tuned = False


def _reason_to_skip() -> Optional[str]:
    """Why the tuning does not apply in this process, or None."""
    if os.environ.get(OPT_OUT_ENV, '').strip().lower() in ('0', 'false', 'off', 'no'):
        return f'{OPT_OUT_ENV} turns it off'
    chosen = [name for name in USER_SETTINGS if name in os.environ]
    if chosen:
        return f'the environment sets {chosen}'
    preload = os.environ.get('LD_PRELOAD', '')
    if 'jemalloc' in preload or 'tcmalloc' in preload:
        return 'another allocator is preloaded'
    if platform.system() != 'Linux' or platform.libc_ver()[0] != 'glibc':
        return 'the C library is not glibc'
    return None


def tune_cpu_allocator() -> bool:
    """Set glibc's mmap and trim thresholds for tensor workloads (see the module docstring).

    Idempotent and process-wide; forked workers inherit it. Nothing changes where :func:`_reason_to_skip` finds a
    reason: ``MMAVS_MALLOC_TUNING=0``, ``MALLOC_*`` / ``GLIBC_TUNABLES`` set by the user, jemalloc / tcmalloc
    preloaded, or a C library other than glibc (macOS, Windows, musl).

    Returns:
        bool: True when both thresholds were set.
    """
    global _tuned
    if _reason_to_skip() is not None:
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # mallopt returns 1 on success; setting the mmap threshold also stops glibc from moving it.
    done = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    _tuned = _tuned or done
    return done


def cpu_allocator_tuned() -> bool:
    """Whether :func:`tune_cpu_allocator` has set the thresholds in this process (``import mmavs`` runs it)."""
    return _tuned
