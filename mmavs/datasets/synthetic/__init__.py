"""Generated AVSBench data: small seeded datasets written in exactly the three official layouts.

The real AVSBench data is distributed on request only; tests, demos and CI train and evaluate on data
written by :func:`generate_avsbench` in the same layouts (files listed in
:mod:`mmavs.datasets.synthetic.layouts`), so every reader is exercised on the real file structure.

What the data is, and why a model needs the audio to solve it:

- **Scenes**: every frame shows 2-3 objects of *different* categories on a grey gradient, one per cell of
  a 2x2 grid (never overlapping), drifting a little between frames. Each category has its own look
  (colour x shape unique within the vocabulary, plus a texture; :mod:`.categories`, :mod:`.drawing`).
- **Sounds**: each category has its own stationary timbre (harmonic stack, odd-harmonic stack or noise
  band, with its own pitch / band and amplitude-modulation rate; :mod:`.sounds`). The audio of second
  ``t`` (16000 samples) is the sum of the sounds of the objects sounding in frame ``t``; a frame where
  nothing sounds (probability ``silent_prob``, 0.15) has only a faint noise floor (about -70 dBFS).
- **Who sounds** is random: S4 (and AVSS v1s) clips have one main object (in a random cell, its category
  is the clip's category) that is the only one ever sounding; MS3 (and AVSS v1m / v2) frames have 1-2
  sounding objects chosen at random among the visible ones. Only sounding objects are in the ground
  truth (binary 0 / 255 masks for S4 / MS3; class colours of the AVSS palette for AVSS), so a frame's
  ground truth is empty exactly when its second of audio is silent.
- **Audio features**: the S4 / MS3 ``.pkl`` files hold ``mmavs.audio.waveform_to_examples`` of the written
  wav (as read back, ``int16 / 32768``), pickled as a torch.float32 tensor ``[5, 1, 96, 64]`` like the
  official preprocessing.
- **Captions** for MIT: one JSON per subset (``Single-source/s4_captions.json``,
  ``Multi-sources/ms3_captions.json``, AVSS ``captions.json``) mapping the clip id (S4 / MS3 video name,
  AVSS uid) to ``{"video": str, "segments": [str, ...], "frames": [str, ...]}``: one caption per real
  frame, one per window of 3 consecutive real frames (``ceil(T/2)`` for S4 / MS3, ``ceil(T/4)`` for AVSS),
  describing only what is visible (objects, looks, positions, motion), like an image / video captioner's
  captions: they never say which object sounds (:mod:`.caption_text`).
- **Deterministic**: the same arguments give byte-identical files; each clip has its own random stream,
  seeded by ``(seed, subset, split, clip index)``.
"""
from mmavs.utils.deprecation import warn_deprecated

from ..caption_windows import default_segment_window, segment_windows
from .caption_text import clip_captions
from .categories import AVSS_CLASSES, S4_CATEGORIES, CategoryStyle, avss_styles, build_styles, s4_styles
from .file_io import dump_tensor_pickle
from .generator import AVSS_LABEL_TYPES, SUBSETS, generate_avsbench
from .layouts import MS3_DIRNAME, S4_DIRNAME, avss_paths, ms3_paths, s4_paths
from .palette import avss_palette
from .sounds import SAMPLE_RATE, SoundSpec, mix_clip_audio, sound_spec_for_index, synthesize_sound

__all__ = [
    'generate_avsbench', 'SUBSETS', 'AVSS_LABEL_TYPES', 'S4_CATEGORIES', 'AVSS_CLASSES', 'CategoryStyle',
    'build_styles', 's4_styles', 'avss_styles', 'SoundSpec', 'sound_spec_for_index', 'synthesize_sound',
    'mix_clip_audio', 'SAMPLE_RATE', 'avss_palette', 'clip_captions', 'segment_window', 'segment_windows',
    'dump_tensor_pickle', 'S4_DIRNAME', 'MS3_DIRNAME', 's4_paths', 'ms3_paths', 'avss_paths'
]


def segment_window(padded_frames: int, subset: str) -> int:
    """Deprecated: :func:`mmavs.datasets.caption_windows.default_segment_window` (arguments swapped).

    Args:
        padded_frames (int): ``T`` after padding.
        subset (str): ``'s4'``, ``'ms3'`` or ``'avss'``.

    Returns:
        int: ``default_segment_window(subset, padded_frames)``.
    """
    warn_deprecated('mmavs.datasets.synthetic.segment_window(padded_frames, subset)',
                    'mmavs.datasets.caption_windows.default_segment_window(subset, num_frames)')
    return default_segment_window(subset, padded_frames)
