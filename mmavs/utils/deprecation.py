"""Deprecation warnings of moved modules and renamed functions."""
import warnings


def warn_deprecated(old: str, new: str, stacklevel: int = 3) -> None:
    """Warn (``DeprecationWarning``) that ``old`` is replaced by ``new``.

    Called at the top level of a deprecated alias module, or first thing in a deprecated function; the
    default ``stacklevel`` points the warning at the importing module / the caller of the function.

    Args:
        old (str): The deprecated module path or function, e.g. ``'mmavs.datasets.captions'``.
        new (str): What to use instead.
        stacklevel (int): As for :func:`warnings.warn` (1 is this function). Defaults to 3.
    """
    warnings.warn(f'{old} is deprecated and will be removed; use {new} instead',
                  DeprecationWarning, stacklevel=stacklevel)
