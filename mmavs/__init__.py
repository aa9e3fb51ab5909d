"""mmavs: OpenMMLab toolbox for audio-visual segmentation."""
from .version import __version__

# Supported ranges [MIN, MAX) of the OpenMMLab packages mmavs builds on. mmengine (and mmsegmentation) are
# install requirements with the same ranges (requirements/runtime.txt). mmcv is not: it comes as one of two
# distributions writing the same ``mmcv`` package, full mmcv (compiled ops) or mmcv-lite (none), and
# requiring either would make pip install it over the other. So it is checked here, as mmseg checks its own.
MMCV_MIN = '2.0.0'
MMCV_MAX = '2.2.0'  # mmsegmentation 1.2 asserts mmcv < 2.2.0
MMENGINE_MIN = '0.10.6'
MMENGINE_MAX = '1.0.0'

_MMCV_HOW_TO = (
    f'Install one of the two mmcv distributions (not both: they write the same package): full mmcv with '
    f'compiled ops, built for your torch / CUDA: pip install -U openmim && mim install '
    f'"mmcv>={MMCV_MIN},<{MMCV_MAX}"; or mmcv-lite without compiled ops (enough for mmavs on CPU): '
    f'pip install "mmcv-lite>={MMCV_MIN},<{MMCV_MAX}".')


def _check_dependencies() -> None:
    """Raise ImportError, saying what to install, if mmengine or mmcv is missing or out of range."""
    try:
        import mmengine
    except ModuleNotFoundError as e:
        if e.name != 'mmengine':
            raise
        raise ImportError(f'mmavs needs mmengine>={MMENGINE_MIN},<{MMENGINE_MAX}, which is not installed: '
                          f'pip install "mmengine>={MMENGINE_MIN},<{MMENGINE_MAX}".') from None
    from mmengine.utils import digit_version
    if not (digit_version(MMENGINE_MIN) <= digit_version(mmengine.__version__)
            < digit_version(MMENGINE_MAX)):
        raise ImportError(
            f'mmavs needs mmengine>={MMENGINE_MIN},<{MMENGINE_MAX}, but mmengine {mmengine.__version__} is '
            f'installed: pip install "mmengine>={MMENGINE_MIN},<{MMENGINE_MAX}".')
    try:
        import mmcv
    except ModuleNotFoundError as e:
        if e.name != 'mmcv':
            raise
        raise ImportError(f'mmavs needs mmcv>={MMCV_MIN},<{MMCV_MAX}, which is not installed. '
                          + _MMCV_HOW_TO) from None
    version = getattr(mmcv, '__version__', None)
    if version is None or not (digit_version(MMCV_MIN) <= digit_version(version)
                               < digit_version(MMCV_MAX)):
        raise ImportError(
            f'mmavs needs mmcv>={MMCV_MIN},<{MMCV_MAX}, but mmcv {version} is installed '
            f'(at {getattr(mmcv, "__file__", "?")}). ' + _MMCV_HOW_TO)


_check_dependencies()

# Imported after the check so that a missing mmcv / mmengine gets the message above.
from .utils.compat import ensure_mmcv_ext, register_checkpoint_safe_globals  # noqa: E402
from .utils.cpu_allocator import tune_cpu_allocator  # noqa: E402
from .utils.safe_load import install_safe_checkpoint_loading  # noqa: E402

# All are process-wide, idempotent and cheap; they must run before mmseg.models is imported and before
# any checkpoint is loaded (MMEngine's loaders included: weights-only whatever torch's default), so they
# run when mmavs is imported. The allocator tuning (glibc only; MMAVS_MALLOC_TUNING=0 turns it off) runs
# here so that every tool, notebook and forked dataloader worker gets it before the first tensor.
ensure_mmcv_ext()
register_checkpoint_safe_globals()
install_safe_checkpoint_loading()
tune_cpu_allocator()

__all__ = ['__version__']
