"""Audio front end: file I/O and the VGGish log-mel input pipeline."""
from .io import VGGISH_SAMPLE_RATE, load_log_mel, read_wav, to_mono_16k
from .vggish_input import (
                           log_mel_spectrogram,
                           mel_weight_matrix,
                           num_stft_frames,
                           waveform_to_examples,
                           waveform_to_examples_torch,
)

__all__ = [
    'VGGISH_SAMPLE_RATE', 'read_wav', 'to_mono_16k', 'load_log_mel', 'waveform_to_examples',
    'waveform_to_examples_torch', 'log_mel_spectrogram', 'mel_weight_matrix', 'num_stft_frames'
]
