"""mmavs: OpenMMLab toolbox for audio-visual segmentation."""
from .utils.compat import ensure_mmcv_ext, register_checkpoint_safe_globals
from .utils.safe_load import install_safe_checkpoint_loading
from .version import __version__

# All are process-wide, idempotent and cheap; they must run before mmseg.models is imported and before
# any checkpoint is loaded (MMEngine's loaders included: weights-only whatever torch's default), so they
# run when mmavs is imported.
ensure_mmcv_ext()
register_checkpoint_safe_globals()
install_safe_checkpoint_loading()

__all__ = ['__version__']
