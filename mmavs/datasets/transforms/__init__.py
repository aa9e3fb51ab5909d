"""Clip transforms: loading (frames, masks, audio), geometric, packing."""
from .audio_loading import LoadClipAudio, fit_examples_to_frames
from .formatting import DEFAULT_META_KEYS, PackAVSInputs
from .geometric import ClipCenterCrop, ClipRandomCrop, ClipRandomFlip, ClipResize, ClipResizeShortSide
from .loading import LoadClipFrames, LoadClipMasks

__all__ = [
    'LoadClipFrames', 'LoadClipMasks', 'LoadClipAudio', 'ClipResize', 'ClipResizeShortSide',
    'ClipCenterCrop', 'ClipRandomCrop', 'ClipRandomFlip', 'PackAVSInputs', 'DEFAULT_META_KEYS',
    'fit_examples_to_frames'
]
