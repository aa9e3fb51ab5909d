"""Utilities: compatibility shims, the CPU allocator tuning, distributed set-up, module registration."""
from .compat import ensure_mmcv_ext, register_checkpoint_safe_globals
from .cpu_allocator import cpu_allocator_tuned, tune_cpu_allocator
from .dist import setup_launcher, teardown_launcher
from .safe_load import install_safe_checkpoint_loading, safe_torch_load
from .setup_env import register_all_modules

__all__ = [
    'cpu_allocator_tuned', 'ensure_mmcv_ext', 'register_checkpoint_safe_globals',
    'install_safe_checkpoint_loading', 'register_all_modules', 'safe_torch_load', 'setup_launcher',
    'teardown_launcher', 'tune_cpu_allocator'
]
