"""Which frames of a video the model sees, how they are grouped into clips, and the audio of each frame.

**Benchmark sampling** (the default, :meth:`FrameSampling.benchmark`). AVSBench cuts each 5 s video into five
1 s intervals and annotates the last frame of each (Zhou et al., ECCV 2022). Its extraction script
(``preprocess_scripts/preprocess_s4.py`` / ``preprocess_ms3.py`` of OpenNLPLab/AVSBench) decodes every frame,
splits each second into 16 steps of the rounded frame rate ``F = round(fps)`` and keeps the 16th step: for
second ``k`` the decoded frame ``int(k * F + 15 / 16 * F)`` (clamped to the last frame for short videos).
mmavs takes, in second ``k``, the frame **shown at** ``t_k = k + 15/16`` **s** (0.9375 s into the interval,
times from the first video frame). For integer frame rates this is the official frame exactly (30 fps:
frame ``30 k + 28``; 25 fps: ``25 k + 23``); for 29.97 fps the official rounding to 30 drifts by one frame
(33 ms) after 4 s, the timestamp rule does not. AVSBench-semantic (AVSS) ships its frames (``0..9.jpg``,
one per second) without an extraction script; the same rule is used for it. The audio is what the models
were trained with: each clip's waveform (``T`` seconds, cut at clip boundaries) becomes non-overlapping
0.96 s VGGish examples from the clip start (:func:`mmavs.audio.waveform_to_examples`, as the AVSBench
``audio_log_mel`` files), example ``k`` for frame ``k``.

**Dense sampling** (:meth:`FrameSampling.dense`, ``fps`` frames per second): frame ``k`` is the frame shown
at ``(k + 1/2) / fps`` s (the middle of its interval) and its audio example is the 0.96 s example (96
log-mel frames, 15600 samples at 16 kHz) centred on that time, shifted inwards at the two ends of the
track so that it stays inside it (zero-padded only when the track is shorter than one example).

**Clips**: the sampled frames are grouped into consecutive clips of the model's ``T`` frames (5 for S4 /
MS3, 10 for AVSS). The last clip, when shorter, is completed the way the model was trained:

- ``'repeat'`` (S4 / MS3): the missing frames repeat the last real frame (the official extraction clamps
  frame indices past the end of a short video to its last frame) and the audio examples are padded by the
  config's ``LoadClipAudio.pad_mode`` (``'repeat_last'``, as the official log-mel files);
- ``'flag'`` (AVSS): padded frames are all-zero with ``frame_flags`` False and zero audio, as AVSS pads its
  5-frame clips to 10 (the model ignores them).

Only the real frames get masks.
"""
import math
from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np

from mmavs.audio import VGGISH_SAMPLE_RATE, waveform_to_examples
from mmavs.audio.vggish_input import EXAMPLE_WINDOW_FRAMES, STFT_HOP_LENGTH, STFT_WINDOW_LENGTH
from mmavs.datasets.transforms.audio_loading import fit_examples_to_frames

#: Where AVSBench takes its frame in each one-second interval (the 16th of 16 steps).
BENCHMARK_PHASE = 15 / 16
#: Samples of one VGGish example at 16 kHz: 96 frames of 400 samples every 160 (0.975 s).
EXAMPLE_SAMPLES = (EXAMPLE_WINDOW_FRAMES - 1) * STFT_HOP_LENGTH + STFT_WINDOW_LENGTH
#: Padding of a short last clip: the S4 / MS3 way (repeat the last frame) or the AVSS way (flagged padding).
PADDINGS = ('repeat', 'flag')


@dataclass(frozen=True)
class FrameSampling:
    """Frame times and audio pairing (see the module docstring).

    Attributes:
        fps (float): Sampled frames per second.
        phase (float): Frame ``k`` is at ``(k + phase) / fps`` s.
        centred_audio (bool): False: per-clip non-overlapping examples (the benchmark); True: one example
            centred on each frame.
    """
    fps: float = 1.0
    phase: float = BENCHMARK_PHASE
    centred_audio: bool = False

    @classmethod
    def benchmark(cls) -> 'FrameSampling':
        """One frame per second at ``k + 15/16`` s, the training audio (AVSBench)."""
        return cls()

    @classmethod
    def dense(cls, fps: float) -> 'FrameSampling':
        """``fps`` frames per second at ``(k + 1/2) / fps`` s, one centred audio example each."""
        if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not math.isfinite(fps) or fps <= 0:
            raise ValueError(f'fps must be a positive number of frames per second, got {fps!r}')
        return cls(fps=float(fps), phase=0.5, centred_audio=True)

    @property
    def interval(self) -> float:
        """Seconds between sampled frames."""
        return 1.0 / self.fps

    def describe(self) -> str:
        """A phrase for messages and logs."""
        if not self.centred_audio:
            return 'benchmark sampling (1 frame/s at k + 15/16 s)'
        return f'{self.fps:g} frames/s at (k + 1/2) / {self.fps:g} s'

    def times(self, duration: float, source: str) -> np.ndarray:
        """Times of the frames of a video lasting ``duration`` seconds: every ``(k + phase) / fps < duration``.

        Args:
            duration (float): Seconds (e.g. :attr:`VideoInfo.duration`).
            source (str): The video (for the error message).

        Returns:
            np.ndarray: float64 ``[K]``, ``K >= 1``.

        Raises:
            ValueError: The video is shorter than one frame interval (naming ``source``).
        """
        if duration < self.interval - 1e-9:
            raise ValueError(f'video "{source}" lasts {duration:.3f} s, shorter than one frame interval '
                             f'({self.interval:.3f} s at {self.fps:g} frame(s)/s): it has no frame to segment')
        count = max(1, math.ceil(duration * self.fps - self.phase - 1e-9))
        return (np.arange(count) + self.phase) / self.fps


@dataclass(frozen=True)
class ClipSpec:
    """The clips a model was trained on.

    Attributes:
        num_frames (int): ``T``.
        padding (str): ``'repeat'`` or ``'flag'`` (see the module docstring).
        pad_mode (str): ``LoadClipAudio.pad_mode`` of the config (``'repeat_last'`` / ``'zeros'``).
        subset (str): ``'s4'``, ``'ms3'`` or ``'avss'`` (segment windows of the captions).
    """
    num_frames: int
    padding: str
    pad_mode: str
    subset: str

    def __post_init__(self) -> None:
        if self.padding not in PADDINGS:
            raise ValueError(f'ClipSpec.padding must be one of {PADDINGS}, got {self.padding!r}')
        if self.num_frames < 1:
            raise ValueError(f'ClipSpec.num_frames must be >= 1, got {self.num_frames}')


@dataclass(frozen=True)
class PlannedClip:
    """One clip of an input.

    Attributes:
        index (int): Clip number ``c`` in the input (0-based).
        clip_id (str): The input's name for a single clip, ``{name}_{c}`` otherwise (the caption-file key).
        first (int): Index of its first sampled frame in the input.
        num_real (int): ``N <= T`` real frames.
        num_frames (int): ``T``.
        padding (str): How frames ``N..T-1`` are filled.
    """
    index: int
    clip_id: str
    first: int
    num_real: int
    num_frames: int
    padding: str

    @property
    def frame_ids(self) -> List[int]:
        """Input frame index of each of the ``N`` real frames."""
        return list(range(self.first, self.first + self.num_real))

    @property
    def sources(self) -> List[Optional[int]]:
        """Input frame index of each of the ``T`` frames: padded frames repeat the last one or are None."""
        fill = self.first + self.num_real - 1 if self.padding == 'repeat' else None
        return self.frame_ids + [fill] * (self.num_frames - self.num_real)

    @property
    def frame_flags(self) -> List[bool]:
        """``T`` flags: False for flagged padding only (repeated frames are real frames to the model)."""
        return [True] * self.num_real + [self.padding == 'repeat'] * (self.num_frames - self.num_real)


def plan_clips(num_samples: int, spec: ClipSpec, name: str) -> List[PlannedClip]:
    """Group ``num_samples`` sampled frames into consecutive clips of ``spec.num_frames``.

    Args:
        num_samples (int): ``K >= 1``.
        spec (ClipSpec): The model's clips.
        name (str): Name of the input (clip ids).

    Returns:
        list[PlannedClip]: ``ceil(K / T)`` clips; all but the last have ``T`` real frames.
    """
    if num_samples < 1:
        raise ValueError(f'plan_clips: {name!r} has no sampled frame')
    size = spec.num_frames
    count = math.ceil(num_samples / size)
    return [
        PlannedClip(index=c, clip_id=name if count == 1 else f'{name}_{c}', first=c * size,
                    num_real=min(size, num_samples - c * size), num_frames=size, padding=spec.padding)
        for c in range(count)
    ]


def clip_audio_examples(waveform: np.ndarray, clip: PlannedClip, sampling: FrameSampling, spec: ClipSpec,
                        times: Sequence[float], source: str) -> np.ndarray:
    """The ``T`` audio examples of a clip.

    Args:
        waveform (np.ndarray): float32 ``[M]`` mono samples at 16 kHz, sample 0 at the first frame.
        clip (PlannedClip): The clip.
        sampling (FrameSampling): Benchmark (per-clip examples) or dense (centred examples).
        spec (ClipSpec): The model's clips (``pad_mode`` for the missing examples).
        times (Sequence[float]): Times of all sampled frames of the input (dense sampling).
        source (str): The audio's origin (for error messages).

    Returns:
        np.ndarray: float32 ``[T, 1, 96, 64]``.
    """
    rate = VGGISH_SAMPLE_RATE
    if sampling.centred_audio:
        examples = np.stack([_centred_example(waveform, times[i], rate) for i in clip.frame_ids])[:, None]
    else:
        seconds = clip.num_frames * sampling.interval
        start = int(round(clip.index * seconds * rate))
        segment = waveform[start:start + int(round(seconds * rate))]
        examples = waveform_to_examples(segment, rate)[:, None]
        if clip.padding == 'flag':  # the examples of padded frames are the padding's, not the track's
            examples = examples[:clip.num_real]
    return fit_examples_to_frames(examples.astype(np.float32), clip.num_frames, spec.pad_mode,
                                  f'{source} (clip {clip.clip_id})')


def _centred_example(waveform: np.ndarray, time: float, rate: int) -> np.ndarray:
    """The ``[96, 64]`` example centred on ``time`` (shifted inside the track; zero-padded if it is shorter)."""
    if waveform.shape[0] < EXAMPLE_SAMPLES:
        waveform = np.pad(waveform, (0, EXAMPLE_SAMPLES - waveform.shape[0]))
    start = int(round(time * rate)) - EXAMPLE_SAMPLES // 2
    start = min(max(start, 0), waveform.shape[0] - EXAMPLE_SAMPLES)
    return waveform_to_examples(waveform[start:start + EXAMPLE_SAMPLES], rate)[0]
