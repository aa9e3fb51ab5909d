"""Test-time perturbations of AVS clips (audio noise at an SNR, negative audio, frame mixing).

- :mod:`.snr`: the SNR definition, mixing at an SNR, the R2-Bench severity table.
- :mod:`.seeding`: per-clip generators from ``(seed, clip index)``.
- :mod:`.audio`: waveform transforms :class:`AddAudioNoise`, :class:`ReplaceAudio` (before
  ``LoadClipAudio(source='wav')``).
- :mod:`.offscreen`: AVSBench-Robust's choice of the off-screen sound's donor clip.
- :mod:`.wrapper`: :class:`PerturbedAVSDataset`, for what needs other clips (noise donors, off-screen audio,
  frame mixing).
"""
from .audio import NOISE_KINDS, REPLACE_KINDS, AddAudioNoise, ReplaceAudio, clip_waveform
from .offscreen import LEAST_SUITABLE_CONTRAST, S4_COARSE_CLASSES, contrasting_categories, offscreen_donor
from .seeding import clip_rng
from .snr import (
                  DEFAULT_SNR_LEVELS,
                  R2BENCH_SNR_RANGES,
                  check_severity,
                  check_snr_db,
                  fit_noise_length,
                  mean_power,
                  mix_at_snr,
)
from .wrapper import FRAME_MIX_VARIANTS, PerturbedAVSDataset

__all__ = [
    'AddAudioNoise', 'ReplaceAudio', 'PerturbedAVSDataset', 'clip_rng', 'clip_waveform', 'mix_at_snr',
    'mean_power', 'fit_noise_length', 'check_snr_db', 'check_severity', 'R2BENCH_SNR_RANGES',
    'DEFAULT_SNR_LEVELS', 'NOISE_KINDS', 'REPLACE_KINDS', 'FRAME_MIX_VARIANTS', 'offscreen_donor',
    'contrasting_categories', 'S4_COARSE_CLASSES', 'LEAST_SUITABLE_CONTRAST'
]
