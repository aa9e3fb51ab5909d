"""Conversion of raw videos into the official AVSBench layouts (see :mod:`.videos`)."""
from .stamp import FRONTEND_VERSION, StampError, check_target, frontend_stamp, write_stamp
from .videos import LAYOUTS, ClipRecord, ConversionError, VideoJob, convert_video, write_metadata

__all__ = [
    'FRONTEND_VERSION', 'StampError', 'check_target', 'frontend_stamp', 'write_stamp', 'LAYOUTS', 'ClipRecord',
    'ConversionError', 'VideoJob', 'convert_video', 'write_metadata'
]
