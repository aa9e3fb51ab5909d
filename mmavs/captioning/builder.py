"""Build a captioner backend of :data:`mmavs.registry.CAPTIONERS` by name."""
from typing import List

from mmavs.registry import CAPTIONERS

from .base import BaseCaptioner


def captioner_names() -> List[str]:
    """Names of the registered backends (the tool's ``--backend`` choices), sorted."""
    CAPTIONERS.import_from_location()
    return sorted(CAPTIONERS.module_dict)


def build_captioner(name: str, **kwargs) -> BaseCaptioner:
    """Build a registered captioner backend.

    Same as ``CAPTIONERS.build(dict(type=name, **kwargs))``, except that the backend's own errors reach
    the caller unchanged and an unknown name lists the registered ones.

    Args:
        name (str): Backend name (``'import'``, ``'local-model'`` or a user-registered one).
        **kwargs: Constructor arguments of the backend.

    Returns:
        BaseCaptioner: The captioner.

    Raises:
        KeyError: ``name`` is not registered.
    """
    names = captioner_names()
    if name not in names:
        raise KeyError(f'unknown captioner backend {name!r}; available: {names}')
    return CAPTIONERS.get(name)(**kwargs)
