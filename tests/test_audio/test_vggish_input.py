"""Tests of the VGGish log-mel front end against an independent, loop-based statement of the reference."""
import math

import numpy as np
import pytest
import torch

from mmavs.audio.io import to_mono_16k
from mmavs.audio.vggish_input import (
    hertz_to_mel,
    mel_weight_matrix,
    num_stft_frames,
    waveform_to_examples,
    waveform_to_examples_torch,
)

SR = 16000


# ----------------------------------------------------------------------------------------------------
# Oracle: the published AudioSet VGGish algorithm, written out step by step with explicit loops.
# ----------------------------------------------------------------------------------------------------
def oracle_mel(hz):
    return 1127.0 * math.log(1.0 + hz / 700.0)


def oracle_mel_matrix(lower_hz=125.0, upper_hz=7500.0):
    """spectrogram_to_mel_matrix(64, 257, 16000, lower_hz, upper_hz), element by element."""
    num_bins, num_mel = 257, 64
    lo, hi = oracle_mel(lower_hz), oracle_mel(upper_hz)
    edges = [lo + (hi - lo) * k / (num_mel + 1) for k in range(num_mel + 2)]
    matrix = np.zeros((num_bins, num_mel))
    for b in range(num_bins):
        bin_mel = oracle_mel(8000.0 * b / (num_bins - 1))
        for i in range(num_mel):
            left, center, right = edges[i], edges[i + 1], edges[i + 2]
            up = (bin_mel - left) / (center - left)
            down = (right - bin_mel) / (right - center)
            matrix[b, i] = max(0.0, min(up, down))
    matrix[0, :] = 0.0  # HTK excludes the DC bin
    return matrix


def oracle_examples(mono16k):
    """waveform (mono, 16 kHz, float64) -> [num_examples, 96, 64] with the reference recipe."""
    x = np.asarray(mono16k, dtype=np.float64)
    window = np.array([0.5 - 0.5 * math.cos(2 * math.pi * n / 400) for n in range(400)])
    mel_matrix = oracle_mel_matrix()
    rows = []
    start = 0
    while start + 400 <= len(x):
        spectrum = np.abs(np.fft.rfft(x[start:start + 400] * window, 512))
        rows.append(np.log(spectrum @ mel_matrix + 0.01))
        start += 160
    examples = []
    first = 0
    while first + 96 <= len(rows):
        examples.append(np.stack(rows[first:first + 96]))
        first += 96
    if not examples:
        return np.zeros((0, 96, 64))
    return np.stack(examples)


def sweep(seconds, f0, f1, rate=SR, amp=0.8):
    t = np.arange(int(seconds * rate)) / rate
    phase = 2 * np.pi * (f0 * t + (f1 - f0) * t * t / (2 * seconds))
    return amp * np.sin(phase)


# ----------------------------------------------------------------------------------------------------
def test_mel_matrix_matches_oracle_and_shape():
    ours = mel_weight_matrix()
    assert ours.shape == (257, 64)
    np.testing.assert_allclose(ours, oracle_mel_matrix(), atol=1e-12)
    assert np.all(ours[0] == 0)
    # triangles of unit peak: each band's maximum is < 1 but close to it for wide (high) bands
    assert np.all(ours.max(axis=0) <= 1.0)
    assert ours[:, 40:].max(axis=0).min() > 0.8


def test_mel_matrix_other_edges_match_oracle():
    # the triangles follow the requested edges (a 0 Hz lower edge puts band 0 on the first FFT bins)
    ours = mel_weight_matrix(lower_edge_hertz=0.0, upper_edge_hertz=8000.0)
    np.testing.assert_allclose(ours, oracle_mel_matrix(lower_hz=0.0, upper_hz=8000.0), atol=1e-12)
    assert np.all(ours[0] == 0)
    assert ours[1, 0] > 0.5


@pytest.mark.parametrize('name', ['sweep', 'noise', 'square', 'sweep_quiet', 'odd_length'])
def test_mono_16k_signals_match_oracle(name):
    rng = np.random.default_rng(0)
    signals = {
        'sweep': sweep(3.2, 50, 7900),
        'noise': rng.uniform(-1, 1, size=int(2.5 * SR)),
        'square': 0.5 * np.sign(np.sin(2 * np.pi * 330 * np.arange(2 * SR) / SR)),
        'sweep_quiet': sweep(2.0, 7000, 200, amp=1e-3),
        'odd_length': rng.normal(0, 0.2, size=15600 + 96 * 160 + 77),
    }
    x = signals[name].astype(np.float32)
    ours = waveform_to_examples(x, SR)
    expected = oracle_examples(x.astype(np.float64))
    assert ours.dtype == np.float32
    assert ours.shape == expected.shape and ours.shape[0] >= 1
    np.testing.assert_allclose(ours, expected, atol=1e-4, rtol=0)


def test_stereo_is_channel_mean():
    rng = np.random.default_rng(1)
    left = sweep(2.1, 100, 3000)
    right = rng.normal(0, 0.3, size=left.shape[0])
    stereo = np.stack([left, right], axis=1).astype(np.float32)  # [N, 2], samples first
    ours = waveform_to_examples(stereo, SR)
    expected = oracle_examples((stereo[:, 0].astype(np.float64) + stereo[:, 1]) / 2)
    assert ours.shape == (2, 96, 64)
    np.testing.assert_allclose(ours, expected, atol=1e-4, rtol=0)
    # and it is not simply one of the channels
    assert np.abs(ours - oracle_examples(stereo[:, 0])).max() > 0.1


def test_44k_input_goes_through_resampling():
    rng = np.random.default_rng(2)
    rate = 44100
    x = np.stack([sweep(2.5, 80, 6000, rate=rate), rng.normal(0, 0.1, size=int(2.5 * rate))], axis=1)
    x = x.astype(np.float32)
    ours = waveform_to_examples(x, rate)
    resampled = to_mono_16k(x, rate)
    assert resampled.shape == (40000, )
    expected = oracle_examples(resampled.astype(np.float64))
    assert ours.shape == expected.shape == (2, 96, 64)
    np.testing.assert_allclose(ours, expected, atol=1e-4, rtol=0)


def test_silence_gives_log_offset_everywhere():
    ours = waveform_to_examples(np.zeros(3 * SR, dtype=np.float32), SR)
    assert ours.shape == (3, 96, 64)
    np.testing.assert_allclose(ours, np.log(0.01), rtol=0, atol=1e-7)


@pytest.mark.parametrize('num_samples', [0, 1, 399, 400, 15599, 15600, 15600 + 95 * 160 - 1,
                                         15600 + 96 * 160, 48000, 80000])
def test_example_count_is_floor_of_frames_over_96(num_samples):
    frames = 0 if num_samples < 400 else 1 + (num_samples - 400) // 160
    x = np.random.default_rng(3).normal(0, 0.1, size=num_samples).astype(np.float32)
    ours = waveform_to_examples(x, SR)
    assert num_stft_frames(num_samples) == frames
    assert ours.shape == (frames // 96, 96, 64)


def test_zero_length_audio_gives_zero_examples():
    for x in (np.zeros(0, np.float32), np.zeros((0, 2), np.float32)):
        out = waveform_to_examples(x, SR)
        assert out.shape == (0, 96, 64) and out.dtype == np.float32
    assert waveform_to_examples(np.zeros(0, np.float32), 44100).shape == (0, 96, 64)


@pytest.mark.parametrize('band', [20, 35, 50, 60])
def test_pure_tone_peaks_in_its_band(band):
    # a tone exactly at the centre frequency of mel band `band` puts most energy there
    lo, hi = hertz_to_mel(125.0), hertz_to_mel(7500.0)
    center_mel = lo + (hi - lo) * (band + 1) / 65
    freq = 700.0 * (math.exp(center_mel / 1127.0) - 1.0)
    t = np.arange(SR * 2) / SR
    ours = waveform_to_examples((0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32), SR)
    assert np.all(ours.argmax(axis=-1) == band)


def test_magnitude_not_power_spectrum():
    # mel(a x) = a mel(x) for a magnitude spectrogram, so exp(out) - 0.01 scales by a (not a^2)
    x = np.random.default_rng(4).uniform(-0.5, 0.5, size=2 * SR)
    low = np.exp(waveform_to_examples(x.astype(np.float32), SR).astype(np.float64)) - 0.01
    high = np.exp(waveform_to_examples((4 * x).astype(np.float32), SR).astype(np.float64)) - 0.01
    mask = low > 1.0  # well above the offset, so float32 output rounding does not matter
    assert mask.mean() > 0.5
    np.testing.assert_allclose(high[mask] / low[mask], 4.0, rtol=1e-4)


def test_shift_by_one_example_shifts_examples():
    x = np.random.default_rng(5).normal(0, 0.2, size=4 * SR).astype(np.float32)
    full = waveform_to_examples(x, SR)
    shifted = waveform_to_examples(x[96 * 160:], SR)
    assert shifted.shape[0] == full.shape[0] - 1
    np.testing.assert_array_equal(shifted, full[1:])


def test_torch_version_matches_oracle_batched():
    rng = np.random.default_rng(6)
    batch = np.stack([sweep(2.0, 300, 5000), rng.normal(0, 0.3, size=2 * SR), np.zeros(2 * SR)])
    out = waveform_to_examples_torch(torch.from_numpy(batch))
    assert out.shape == (3, 2, 96, 64) and out.dtype == torch.float64
    for i in range(3):
        np.testing.assert_allclose(out[i].numpy(), oracle_examples(batch[i]), atol=1e-8, rtol=0)
    out32 = waveform_to_examples_torch(torch.from_numpy(batch).float())
    assert out32.dtype == torch.float32
    np.testing.assert_allclose(out32.numpy(), out.numpy(), atol=5e-3, rtol=0)
    short = waveform_to_examples_torch(torch.zeros(2, 1000))
    assert short.shape == (2, 0, 96, 64)


def test_torch_version_is_differentiable():
    x = torch.from_numpy(np.random.default_rng(7).normal(0, 0.2, size=SR)).requires_grad_(True)
    out = waveform_to_examples_torch(x)
    out.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match='NaN'):
        waveform_to_examples(np.full(SR, np.nan, dtype=np.float32), SR)
    with pytest.raises(TypeError, match='int16'):
        waveform_to_examples(np.zeros(SR, dtype=np.int16), SR)
    with pytest.raises(ValueError, match='shape'):
        waveform_to_examples(np.zeros((2, 2, SR), dtype=np.float32), SR)
    with pytest.raises(ValueError, match='sample_rate'):
        waveform_to_examples(np.zeros(SR, dtype=np.float32), 0)
    with pytest.raises(ValueError, match='Nyquist'):
        mel_weight_matrix(sample_rate=8000)
