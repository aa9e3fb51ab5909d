"""Utilities: compatibility shims, distributed set-up, module registration."""
from .compat import ensure_mmcv_ext, register_checkpoint_safe_globals
from .dist import setup_launcher, teardown_launcher
from .safe_load import install_safe_checkpoint_loading, safe_torch_load
from .setup_env import register_all_modules

__all__ = [
    'ensure_mmcv_ext', 'register_checkpoint_safe_globals',
    'install_safe_checkpoint_loading', 'register_all_modules', 'safe_torch_load', 'setup_launcher',
    'teardown_launcher'
]
