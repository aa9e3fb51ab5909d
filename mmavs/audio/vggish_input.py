"""VGGish input features: waveform -> non-overlapping 0.96 s log-mel examples ``[N, 96, 64]``.

Reproduces the AudioSet VGGish reference front end (``vggish_input.py`` / ``mel_features.py`` /
``vggish_params.py``, also used by torchvggish and the AVSBench preprocessing):

1. mono (mean over channels) at 16 kHz (see :func:`mmavs.audio.to_mono_16k` for resampling);
2. frames of 400 samples (25 ms) every 160 samples (10 ms), no padding: ``1 + (N - 400) // 160`` frames;
3. periodic Hann window, 512-point real FFT, **magnitude** (not power) spectrum, 257 bins;
4. 64 HTK-mel triangular bands between 125 Hz and 7500 Hz: band edges equally spaced in
   ``mel = 1127 ln(1 + f / 700)``, triangles of unit peak built in the mel domain, FFT bin 0 (DC)
   given zero weight in every band;
5. ``log(mel + 0.01)``;
6. non-overlapping examples of 96 frames (hop 96); trailing frames that do not fill an example are dropped.

Zero-length or very short audio (fewer than 96 frames, i.e. under 15600 samples at 16 kHz) gives **zero
examples** (an array of shape ``[0, 96, 64]``); callers pad (see
:class:`mmavs.datasets.transforms.audio_loading.LoadClipAudio`). These functions take arrays; a *file*
with zero samples never gets here: :func:`mmavs.audio.read_wav` (the only waveform file reader) rejects it.
The reference also gives zero examples there, except that it raises for fewer than 240 samples (a negative
frame count); here that is zero examples too.
"""
from typing import Optional

import numpy as np
import torch

from .io import VGGISH_SAMPLE_RATE, to_mono_16k

#: Parameters of the reference (``vggish_params.py``), at 16 kHz.
STFT_WINDOW_LENGTH = 400  # 0.025 s
STFT_HOP_LENGTH = 160  # 0.010 s
FFT_LENGTH = 512  # next power of two >= 400
NUM_SPECTROGRAM_BINS = FFT_LENGTH // 2 + 1
NUM_MEL_BINS = 64
MEL_MIN_HZ = 125.0
MEL_MAX_HZ = 7500.0
LOG_OFFSET = 0.01
EXAMPLE_WINDOW_FRAMES = 96  # 0.96 s
EXAMPLE_HOP_FRAMES = 96  # 0.96 s

_MEL_BREAK_FREQUENCY_HERTZ = 700.0
_MEL_HIGH_FREQUENCY_Q = 1127.0


def hertz_to_mel(frequencies_hertz: np.ndarray) -> np.ndarray:
    """HTK mel scale: ``1127 ln(1 + f / 700)``.

    Args:
        frequencies_hertz (np.ndarray | float): Frequencies in Hz.

    Returns:
        np.ndarray: Mel values, same shape.
    """
    return _MEL_HIGH_FREQUENCY_Q * np.log(1.0 + np.asarray(frequencies_hertz, dtype=np.float64) /
                                          _MEL_BREAK_FREQUENCY_HERTZ)


def periodic_hann(window_length: int) -> np.ndarray:
    """Periodic Hann window ``0.5 - 0.5 cos(2 pi n / L)``, ``n = 0..L-1`` (one full period), float64 ``[L]``.

    Args:
        window_length (int): ``L``.

    Returns:
        np.ndarray: The window.
    """
    return 0.5 - 0.5 * np.cos(2.0 * np.pi / window_length * np.arange(window_length))


def mel_weight_matrix(num_mel_bins: int = NUM_MEL_BINS,
                      num_spectrogram_bins: int = NUM_SPECTROGRAM_BINS,
                      sample_rate: int = VGGISH_SAMPLE_RATE,
                      lower_edge_hertz: float = MEL_MIN_HZ,
                      upper_edge_hertz: float = MEL_MAX_HZ) -> np.ndarray:
    """Matrix ``A`` such that ``mel = spectrogram @ A`` (reference ``spectrogram_to_mel_matrix``).

    Spectrogram bins are ``linspace(0, sample_rate / 2, num_spectrogram_bins)`` Hz; band ``i`` is the
    triangle over mel edges ``e[i], e[i+1], e[i+2]`` with ``e = linspace(mel(lower), mel(upper),
    num_mel_bins + 2)``, peak 1 at ``e[i+1]``; row 0 (the DC bin) is zero.

    Args:
        num_mel_bins (int): Number of mel bands (columns).
        num_spectrogram_bins (int): Number of spectrogram bins (rows), ``fft_length // 2 + 1``.
        sample_rate (int): Sample rate of the analysed audio in Hz.
        lower_edge_hertz (float): Lower edge of the lowest band.
        upper_edge_hertz (float): Upper edge of the highest band.

    Returns:
        np.ndarray: float64 ``[num_spectrogram_bins, num_mel_bins]``.

    Raises:
        ValueError: If the edges are negative, unordered or above Nyquist.
    """
    nyquist_hertz = sample_rate / 2.0
    if lower_edge_hertz < 0.0:
        raise ValueError(f'lower_edge_hertz {lower_edge_hertz} must be >= 0.')
    if lower_edge_hertz >= upper_edge_hertz:
        raise ValueError(f'lower_edge_hertz {lower_edge_hertz} >= upper_edge_hertz {upper_edge_hertz}.')
    if upper_edge_hertz > nyquist_hertz:
        raise ValueError(f'upper_edge_hertz {upper_edge_hertz} is greater than Nyquist {nyquist_hertz}.')
    bins_mel = hertz_to_mel(np.linspace(0.0, nyquist_hertz, num_spectrogram_bins))[:, None]
    edges = np.linspace(hertz_to_mel(lower_edge_hertz), hertz_to_mel(upper_edge_hertz), num_mel_bins + 2)
    lower, center, upper = edges[None, :-2], edges[None, 1:-1], edges[None, 2:]
    rising = (bins_mel - lower) / (center - lower)
    falling = (upper - bins_mel) / (upper - center)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights[0, :] = 0.0
    return weights


def num_stft_frames(num_samples: int) -> int:
    """Number of complete 400-sample frames (hop 160) in ``num_samples`` samples (0 if fewer than 400)."""
    if num_samples < STFT_WINDOW_LENGTH:
        return 0
    return 1 + (num_samples - STFT_WINDOW_LENGTH) // STFT_HOP_LENGTH


def log_mel_spectrogram(data: np.ndarray) -> np.ndarray:
    """Log-mel spectrogram of 16 kHz mono audio, computed in float64.

    Args:
        data (np.ndarray): ``[N]`` mono samples at 16 kHz.

    Returns:
        np.ndarray: float64 ``[num_frames, 64]`` with ``num_frames = num_stft_frames(N)``.
    """
    data = np.asarray(data, dtype=np.float64)
    num_frames = num_stft_frames(data.shape[0])
    if num_frames == 0:
        return np.zeros((0, NUM_MEL_BINS), dtype=np.float64)
    frames = np.lib.stride_tricks.sliding_window_view(data, STFT_WINDOW_LENGTH)[::STFT_HOP_LENGTH]
    magnitude = np.abs(np.fft.rfft(frames * periodic_hann(STFT_WINDOW_LENGTH), n=FFT_LENGTH, axis=-1))
    mel = magnitude @ mel_weight_matrix()
    return np.log(mel + LOG_OFFSET)


def frame_examples(log_mel: np.ndarray) -> np.ndarray:
    """Split ``[F, 64]`` log-mel frames into ``[F // 96, 96, 64]`` non-overlapping examples (rest dropped)."""
    num_examples = log_mel.shape[0] // EXAMPLE_WINDOW_FRAMES
    used = log_mel[:num_examples * EXAMPLE_WINDOW_FRAMES]
    return used.reshape(num_examples, EXAMPLE_WINDOW_FRAMES, log_mel.shape[1])


def waveform_to_examples(data: np.ndarray, sample_rate: int) -> np.ndarray:
    """Convert a waveform into VGGish input examples.

    Args:
        data (np.ndarray): Float samples (nominally in [-1, 1]), ``[N]`` mono or ``[N, C]``
            multi-channel (samples first); channels are averaged.
        sample_rate (int): Sample rate of ``data`` in Hz; resampled to 16 kHz when different.

    Returns:
        np.ndarray: float32 ``[num_examples, 96, 64]``; ``num_examples = num_stft_frames(M) // 96`` for
        ``M`` samples at 16 kHz (zero for audio shorter than 0.975 s).

    Raises:
        TypeError / ValueError: For non-float, wrongly shaped or non-finite input, or a bad sample rate.
    """
    mono = to_mono_16k(data, sample_rate)
    if not np.all(np.isfinite(mono)):
        raise ValueError('Waveform contains NaN or Inf samples.')
    return frame_examples(log_mel_spectrogram(mono)).astype(np.float32)


def waveform_to_examples_torch(waveform: torch.Tensor,
                               mel_matrix: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Batched, differentiable torch version for 16 kHz mono audio (runs on the input's device/dtype).

    Same algorithm as :func:`waveform_to_examples` without channel mixing and resampling. Computed in the
    input's dtype: float64 input reproduces the numpy path to ~1e-10; float32 input is faster, with
    errors of up to ~1e-3 in quiet bands next to loud ones (the 0.01 offset sits far below float32
    resolution of a loud frame's spectrum).

    Args:
        waveform (torch.Tensor): Float ``[..., N]`` mono samples at 16 kHz.
        mel_matrix (torch.Tensor, optional): ``[257, 64]`` weights to reuse across calls; built with
            :func:`mel_weight_matrix` when None.

    Returns:
        torch.Tensor: ``[..., num_examples, 96, 64]`` in the input's dtype.
    """
    if not waveform.is_floating_point():
        raise TypeError(f'Expected a floating-point waveform, got {waveform.dtype}.')
    lead, num_samples = waveform.shape[:-1], waveform.shape[-1]
    num_frames = num_stft_frames(num_samples)
    num_examples = num_frames // EXAMPLE_WINDOW_FRAMES
    if num_examples == 0:
        return waveform.new_zeros(*lead, 0, EXAMPLE_WINDOW_FRAMES, NUM_MEL_BINS)
    if mel_matrix is None:
        mel_matrix = torch.from_numpy(mel_weight_matrix())
    mel_matrix = mel_matrix.to(device=waveform.device, dtype=waveform.dtype)
    window = torch.from_numpy(periodic_hann(STFT_WINDOW_LENGTH)).to(waveform.device, waveform.dtype)
    # only the samples of complete examples are needed
    used = (num_examples * EXAMPLE_WINDOW_FRAMES - 1) * STFT_HOP_LENGTH + STFT_WINDOW_LENGTH
    frames = waveform[..., :used].unfold(-1, STFT_WINDOW_LENGTH, STFT_HOP_LENGTH)  # [..., F, 400]
    magnitude = torch.fft.rfft(frames * window, n=FFT_LENGTH, dim=-1).abs()  # [..., F, 257]
    log_mel = torch.log(magnitude @ mel_matrix + LOG_OFFSET)  # [..., F, 64]
    return log_mel.reshape(*lead, num_examples, EXAMPLE_WINDOW_FRAMES, NUM_MEL_BINS)
