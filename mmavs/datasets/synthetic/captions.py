"""Deprecated: the caption text of generated clips is :mod:`mmavs.datasets.synthetic.caption_text`, the
segment windows are in :mod:`mmavs.datasets.caption_windows`."""
from mmavs.utils.deprecation import warn_deprecated

from ..caption_windows import segment_windows
from . import segment_window
from .caption_text import (
                           CAPTION_MODES,
                           MOVE_FRACTION,
                           clip_captions,
                           frame_caption,
                           heard_phrase,
                           motion_words,
                           region_phrase,
                           segment_caption,
                           video_caption,
)

warn_deprecated('mmavs.datasets.synthetic.captions',
                'mmavs.datasets.synthetic.caption_text (caption text) and '
                'mmavs.datasets.caption_windows (windows)')

__all__ = [
    'CAPTION_MODES', 'MOVE_FRACTION', 'clip_captions', 'frame_caption', 'heard_phrase', 'motion_words',
    'region_phrase', 'segment_caption', 'segment_window', 'segment_windows', 'video_caption'
]
