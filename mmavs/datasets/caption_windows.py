"""Segment windows of the MIT captions: which real frames each segment caption covers.

A clip of ``T`` frames (after padding) has ``N <= T`` real frames, the first ``N``. Its segment captions
cover non-overlapping windows of ``w`` consecutive real frames, in order, the last one possibly shorter
(:func:`segment_windows`); ``w`` defaults to ``ceil(T / 2)`` for S4 / MS3 and ``ceil(T / 4)`` for AVSS
(:func:`default_segment_window`). The caption-file reader (:mod:`mmavs.datasets.caption_file`), the
caption generator (:mod:`mmavs.captioning`) and the synthetic data (:mod:`mmavs.datasets.synthetic`) all
use these helpers.
"""
import math
from typing import Dict, List, Tuple

#: ``T / w`` of each subset: S4 / MS3 clips have 2 segments, AVSS clips 4 (before rounding).
SEGMENTS_PER_CLIP: Dict[str, int] = {'s4': 2, 'ms3': 2, 'avss': 4}


def default_segment_window(subset: str, num_frames: int) -> int:
    """Segment window of a subset: ``ceil(T / 2)`` for S4 / MS3, ``ceil(T / 4)`` for AVSS.

    Args:
        subset (str): ``'s4'``, ``'ms3'`` or ``'avss'``.
        num_frames (int): ``T``, the clip length after padding (5 for S4 / MS3, 10 for AVSS).

    Returns:
        int: Window length in frames (3 for the official lengths).

    Raises:
        ValueError: For an unknown subset or a non-positive ``num_frames``.
    """
    if num_frames < 1:
        raise ValueError(f'default_segment_window: num_frames must be >= 1, got {num_frames}')
    if subset not in SEGMENTS_PER_CLIP:
        raise ValueError(f'default_segment_window: unknown subset {subset!r}; expected one of '
                         f'{sorted(SEGMENTS_PER_CLIP)}')
    return math.ceil(num_frames / SEGMENTS_PER_CLIP[subset])


def segment_windows(num_real_frames: int, window: int) -> List[Tuple[int, int]]:
    """Consecutive non-overlapping windows of ``window`` frames over the real frames.

    Args:
        num_real_frames (int): ``N``, number of real frames (>= 0).
        window (int): Window length (>= 1).

    Returns:
        list[tuple[int, int]]: ``ceil(N / window)`` ``(start, stop)`` ranges (stop exclusive) covering
        ``0..N-1`` in order; the last one may be shorter.

    Raises:
        ValueError: For a window shorter than one frame.
    """
    if window < 1:
        raise ValueError(f'segment_windows: window must be >= 1, got {window}')
    return [(start, min(start + window, num_real_frames))
            for start in range(0, num_real_frames, window)]


def frame_segment_index(num_real_frames: int, num_frames: int, window: int) -> List[int]:
    """Segment index of every frame of a padded clip.

    Args:
        num_real_frames (int): ``N`` real frames (the first ``N`` of the clip).
        num_frames (int): ``T >= N``, the clip length after padding.
        window (int): Segment window (>= 1).

    Returns:
        list[int]: Length ``T``; frame ``t < N`` is in segment ``t // window``, padded frames get -1.

    Raises:
        ValueError: For a window shorter than one frame or ``N`` outside ``0..T``.
    """
    if window < 1:
        raise ValueError(f'frame_segment_index: window must be >= 1, got {window}')
    if not 0 <= num_real_frames <= num_frames:
        raise ValueError(f'frame_segment_index: need 0 <= num_real_frames <= num_frames, got '
                         f'{num_real_frames} and {num_frames}')
    return [t // window if t < num_real_frames else -1 for t in range(num_frames)]
