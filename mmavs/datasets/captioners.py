"""Deprecated: caption generation moved to :mod:`mmavs.captioning`.

``CAPTIONERS`` is now the MMEngine registry :data:`mmavs.registry.CAPTIONERS` (register a backend with
``@CAPTIONERS.register_module(name=...)``; the backends by name are ``CAPTIONERS.module_dict``).
"""
from mmavs.captioning import (
                              CAPTIONERS,
                              BaseCaptioner,
                              ClipToCaption,
                              ImportCaptioner,
                              LocalModelCaptioner,
                              build_captioner,
                              compose_captions,
                              generate_caption_file,
                              list_clips,
)
from mmavs.utils.deprecation import warn_deprecated

warn_deprecated('mmavs.datasets.captioners', 'mmavs.captioning')

__all__ = [
    'CAPTIONERS', 'BaseCaptioner', 'ClipToCaption', 'ImportCaptioner', 'LocalModelCaptioner',
    'build_captioner', 'compose_captions', 'generate_caption_file', 'list_clips'
]
