"""Deprecated: the caption-file reader is :mod:`mmavs.datasets.caption_file`, the segment windows are
in :mod:`mmavs.datasets.caption_windows`."""
from mmavs.utils.deprecation import warn_deprecated

from .caption_file import (
                           CAPTION_FILES,
                           ENTRY_KEYS,
                           check_entry_structure,
                           clip_caption_info,
                           dump_caption_file,
                           load_caption_file,
                           num_real_frames,
                           resolve_caption_path,
                           validate_clip_captions,
)
from .caption_windows import default_segment_window, frame_segment_index, segment_windows

warn_deprecated('mmavs.datasets.captions',
                'mmavs.datasets.caption_file (file format) and mmavs.datasets.caption_windows (windows)')

__all__ = [
    'CAPTION_FILES', 'ENTRY_KEYS', 'check_entry_structure', 'clip_caption_info', 'default_segment_window',
    'dump_caption_file', 'frame_segment_index', 'load_caption_file', 'num_real_frames',
    'resolve_caption_path', 'segment_windows', 'validate_clip_captions'
]
