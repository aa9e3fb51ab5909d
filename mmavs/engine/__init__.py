"""Training-engine components: hooks, atomic checkpoint files."""
from .atomic_file import ATOMIC_BACKEND, AtomicLocalBackend, atomic_write, remove_stale_temp_files
from .hooks import *  # noqa: F401,F403

__all__ = [
    'ATOMIC_BACKEND', 'AtomicLocalBackend', 'atomic_write', 'remove_stale_temp_files',
    'AtomicCheckpointHook', 'write_last_checkpoint'
]
