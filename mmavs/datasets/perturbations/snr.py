"""Signal-to-noise ratio: definition, checks, and mixing a noise into a waveform at a requested SNR.

Definition used everywhere in mmavs: for a clean waveform ``s`` and a noise ``n`` of the same length ``N``
(mono samples),

    P(x) = (1 / N) * sum_i x_i ** 2            (mean power over the clip, i.e. RMS ** 2)
    SNR_dB = 10 * log10(P(s) / P(n))

and the mixture is ``s + g * n`` with the gain ``g = sqrt(P(s) / (P(n) * 10 ** (SNR_dB / 10)))``, so that the
added noise ``g * n`` has exactly the requested SNR against ``s``. This is the RMS rule of audiomentations'
``AddBackgroundNoise`` (``20 * log10(rms_s / rms_n)``), which R2-Bench uses. The mixture is not clipped to
[-1, 1] (clipping would change the SNR); VGGish takes float samples.

A silent signal (``P(s) == 0``) has no defined SNR: :func:`mix_at_snr` raises a ValueError naming the clip
(rule of mmavs: noise at an SNR is meaningless without signal; ``ReplaceAudio(kind='noise')`` is the
negative-audio "noise" case). A silent noise source is an error too (no gain can reach the SNR).
``AddAudioNoise(on_silent='keep')`` instead leaves such clips unchanged, as audiomentations does.
"""
import math
from numbers import Real
from typing import Dict, Sequence, Tuple

import numpy as np

#: SNR ranges (dB, ``[low, high]``) of the R2-Bench ``background_noise`` severities 1-5, as in
#: ``perturbation_toolbox/audio_perturbation.py`` of github.com/lxa9867/r2bench (commit 49cda7f).
R2BENCH_SNR_RANGES: Dict[int, Tuple[float, float]] = {
    1: (25.0, 30.0),
    2: (20.0, 25.0),
    3: (15.0, 20.0),
    4: (10.0, 15.0),
    5: (5.0, 10.0),
}

#: Default fixed SNR levels (dB) of the white-Gaussian-noise protocol.
DEFAULT_SNR_LEVELS: Tuple[float, ...] = (20.0, 10.0, 0.0, -10.0)


def check_snr_db(snr_db: object, owner: str = 'SNR') -> float:
    """Return ``snr_db`` as a float after checking it is a finite real number (not a bool / string).

    Raises:
        TypeError: If ``snr_db`` is not a real number.
        ValueError: If it is NaN or infinite.
    """
    if isinstance(snr_db, bool) or not isinstance(snr_db, Real):
        raise TypeError(f'{owner}: snr_db must be a number (dB), got {snr_db!r} ({type(snr_db).__name__})')
    value = float(snr_db)
    if not math.isfinite(value):
        raise ValueError(f'{owner}: snr_db must be finite, got {snr_db!r}')
    return value


def check_severity(severity: object, owner: str = 'severity') -> int:
    """Return ``severity`` after checking it is one of the R2-Bench levels 1-5.

    Raises:
        ValueError: For any other value (R2-Bench clamps out-of-range values; mmavs refuses them).
    """
    if isinstance(severity, bool) or not isinstance(severity, (int, np.integer)) or \
            int(severity) not in R2BENCH_SNR_RANGES:
        raise ValueError(f'{owner}: unknown severity {severity!r}; choose one of {sorted(R2BENCH_SNR_RANGES)}')
    return int(severity)


def mean_power(wave: np.ndarray) -> float:
    """Mean power ``sum(x ** 2) / N`` of a mono waveform ``[N]`` (computed in float64)."""
    wave = np.asarray(wave, dtype=np.float64)
    if wave.ndim != 1 or wave.size == 0:
        raise ValueError(f'mean_power expects a non-empty mono waveform [N], got shape {wave.shape}')
    return float(np.mean(wave * wave))


def fit_noise_length(noise: np.ndarray, num_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Tile or crop a mono noise ``[M]`` to ``num_samples``, as audiomentations' ``AddBackgroundNoise``.

    A shorter noise is repeated end to end; a longer one is cropped at an offset drawn uniformly from
    ``rng`` (so it is reproducible per clip).

    Returns:
        np.ndarray: float64 ``[num_samples]``.
    """
    noise = np.asarray(noise, dtype=np.float64)
    if noise.shape[0] < num_samples:
        reps = int(math.ceil(num_samples / noise.shape[0]))
        return np.tile(noise, reps)[:num_samples]
    offset = int(rng.integers(0, noise.shape[0] - num_samples + 1))
    return noise[offset:offset + num_samples]


def mix_at_snr(signal: np.ndarray, noise: np.ndarray, snr_db: float, what: str = 'clip') -> np.ndarray:
    """Add ``noise`` scaled so that its SNR against ``signal`` is ``snr_db`` (module definition).

    Args:
        signal (np.ndarray): float mono ``[N]``.
        noise (np.ndarray): float mono ``[N]`` (fit it first with :func:`fit_noise_length`).
        snr_db (float): Requested SNR in dB.
        what (str): Names the clip in error messages.

    Returns:
        np.ndarray: float32 ``[N]``, ``signal + g * noise``.

    Raises:
        ValueError: Lengths differ, the signal is silent (all zeros) or the noise is silent.
    """
    snr_db = check_snr_db(snr_db, what)
    signal64 = np.asarray(signal, dtype=np.float64)
    noise64 = np.asarray(noise, dtype=np.float64)
    if signal64.shape != noise64.shape:
        raise ValueError(f'{what}: signal {signal64.shape} and noise {noise64.shape} differ in length')
    p_signal, p_noise = mean_power(signal64), mean_power(noise64)
    if p_signal == 0.0:
        raise ValueError(
            f'{what}: the signal is silent (power 0), so no noise level gives SNR {snr_db} dB; mmavs does not '
            'define noise at an SNR for silent audio (use ReplaceAudio(kind="noise") for pure noise).')
    if p_noise == 0.0:
        raise ValueError(f'{what}: the noise is silent (power 0); it cannot be scaled to SNR {snr_db} dB')
    gain = math.sqrt(p_signal / (p_noise * 10.0 ** (snr_db / 10.0)))
    return (signal64 + gain * noise64).astype(np.float32)


def snr_levels(levels: Sequence[object] = DEFAULT_SNR_LEVELS) -> Tuple[float, ...]:
    """Check a list of SNR levels (dB) and return them as floats."""
    return tuple(check_snr_db(v, 'snr_levels') for v in levels)
