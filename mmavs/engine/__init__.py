"""Engine components: hooks (checkpoints, RNG state, saved predicted masks), atomic checkpoint files, RNG state,
resume look-up, strict checkpoint loading, the AMP optim-wrapper config."""
from .amp import AMP_DTYPE_NAMES, amp_optim_wrapper
from .atomic_file import ATOMIC_BACKEND, AtomicLocalBackend, atomic_write, remove_stale_temp_files
from .hooks import (
    RNG_STATE_KEY,
    AtomicCheckpointHook,
    AVSVisualizationHook,
    RNGStateHook,
    SavePredMasksHook,
    write_last_checkpoint,
)
from .latest_checkpoint import find_resume_checkpoint
from .model_checkpoint import load_checkpoint_into_model, load_model_checkpoint
from .rng_state import capture_rng_state, restore_rng_state

__all__ = [
    'AMP_DTYPE_NAMES', 'amp_optim_wrapper',
    'ATOMIC_BACKEND', 'AtomicLocalBackend', 'atomic_write', 'remove_stale_temp_files',
    'AtomicCheckpointHook', 'AVSVisualizationHook', 'RNGStateHook', 'RNG_STATE_KEY', 'SavePredMasksHook',
    'write_last_checkpoint',
    'find_resume_checkpoint', 'capture_rng_state', 'restore_rng_state', 'load_model_checkpoint',
    'load_checkpoint_into_model'
]
