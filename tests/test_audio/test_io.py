"""Tests of audio file reading, mono / 16 kHz conversion and safe log-mel file loading."""
import os
import pickle

import numpy as np
import pytest
import soundfile as sf
import torch

from mmavs.audio.io import load_log_mel, read_wav, to_mono_16k


def _pcm16(rng, shape):
    return rng.integers(-32768, 32768, size=shape, dtype=np.int16)


# ---------------------------------------------------------------------------------------- read_wav
@pytest.mark.parametrize('channels', [1, 2, 4])
def test_read_wav_pcm16_is_int16_over_32768(tmp_path, channels):
    rng = np.random.default_rng(0)
    ints = _pcm16(rng, (1234, channels))
    ints[0, 0], ints[1, 0] = -32768, 32767  # extremes
    path = str(tmp_path / f'c{channels}.wav')
    sf.write(path, ints, 22050, subtype='PCM_16')
    data, rate = read_wav(path)
    assert rate == 22050 and data.dtype == np.float32
    expected = ints.astype(np.float64) / 32768.0
    if channels == 1:
        expected = expected[:, 0]
    assert data.shape == expected.shape
    np.testing.assert_array_equal(data.astype(np.float64), expected)
    assert data.min() == -1.0 and data.max() == 32767 / 32768


def test_read_wav_pcm24_full_range_scaling(tmp_path):
    path = str(tmp_path / 'p24.wav')
    ints = np.array([0, 2**23 - 1, -2**23, 4096 * 256], dtype=np.int32) * 256  # 24-bit values in int32
    sf.write(path, ints, 16000, subtype='PCM_24')
    data, _ = read_wav(path)
    np.testing.assert_allclose(data, [0, (2**23 - 1) / 2**23, -1.0, 4096 / 2**15], rtol=1e-6)


@pytest.mark.parametrize('channels', [1, 2])
def test_read_wav_zero_samples_is_an_error_naming_the_file(tmp_path, channels):
    # a well-formed header-only wav (data chunk of 0 bytes): not silence, an error
    path = str(tmp_path / f'zero{channels}.wav')
    sf.write(path, np.zeros((0, channels), np.int16), 16000, subtype='PCM_16')
    assert sf.info(path).frames == 0 and os.path.getsize(path) > 0
    with pytest.raises(ValueError, match=f'zero{channels}.wav.*no samples'):
        read_wav(path)


def test_read_wav_recorded_silence_is_valid(tmp_path):
    path = str(tmp_path / 'silence.wav')
    sf.write(path, np.zeros((3, 2), np.int16), 16000, subtype='PCM_16')
    data, rate = read_wav(path)
    assert data.shape == (3, 2) and rate == 16000 and not data.any()


def test_read_wav_missing(tmp_path):
    path = str(tmp_path / 'nope.wav')
    with pytest.raises(FileNotFoundError, match='nope.wav'):
        read_wav(path)


@pytest.mark.parametrize('kind', ['empty', 'garbage', 'truncated', 'header_only', 'short_header'])
def test_read_wav_bad_files_name_the_file(tmp_path, kind):
    good = str(tmp_path / 'good.wav')
    sf.write(good, _pcm16(np.random.default_rng(1), (16000, 2)), 16000, subtype='PCM_16')
    raw = open(good, 'rb').read()
    content = {
        'empty': b'',
        'garbage': bytes(np.random.default_rng(2).integers(0, 256, 2000, dtype=np.uint8)),
        'truncated': raw[:len(raw) // 2],
        'header_only': raw[:44],
        'short_header': raw[:20],
    }[kind]
    path = str(tmp_path / f'{kind}.wav')
    with open(path, 'wb') as f:
        f.write(content)
    with pytest.raises(ValueError, match=f'{kind}.wav'):
        read_wav(path)


def test_read_wav_streaming_size_placeholder_is_accepted(tmp_path):
    # writers that stream set the data size to 0xFFFFFFFF; such files are not "truncated"
    path = str(tmp_path / 'stream.wav')
    ints = _pcm16(np.random.default_rng(3), (800, ))
    sf.write(path, ints, 16000, subtype='PCM_16')
    raw = bytearray(open(path, 'rb').read())
    pos = raw.index(b'data')
    raw[pos + 4:pos + 8] = b'\xff\xff\xff\xff'
    with open(path, 'wb') as f:
        f.write(bytes(raw))
    data, _ = read_wav(path)
    np.testing.assert_array_equal(data.astype(np.float64), ints / 32768.0)


# ---------------------------------------------------------------------------------------- to_mono_16k
def test_to_mono_16k_mean_of_channels_no_resample():
    x = np.array([[1.0, 0.0, -0.5], [0.25, 0.25, 0.25]], dtype=np.float32)  # [N=2, C=3]
    out = to_mono_16k(x, 16000)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [0.5 / 3, 0.25], rtol=1e-6)
    mono = np.linspace(-1, 1, 50).astype(np.float32)
    np.testing.assert_array_equal(to_mono_16k(mono, 16000), mono)


@pytest.mark.parametrize('rate', [44100, 48000, 22050, 8000])
def test_to_mono_16k_resamples_tone_accurately(rate):
    freq, seconds = 1000.0, 1.0
    t = np.arange(int(rate * seconds)) / rate
    x = np.stack([0.5 * np.sin(2 * np.pi * freq * t)] * 2, axis=1).astype(np.float32)
    out = to_mono_16k(x, rate)
    assert out.shape == (16000, )
    t16 = np.arange(16000) / 16000
    expected = 0.5 * np.sin(2 * np.pi * freq * t16)
    core = slice(800, -800)  # away from the edges where the filter sees zeros
    assert np.abs(out[core] - expected[core]).max() < 1e-3


def test_to_mono_16k_removes_content_above_new_nyquist():
    rate = 48000
    t = np.arange(rate) / rate
    out = to_mono_16k((0.5 * np.sin(2 * np.pi * 11000 * t)).astype(np.float32), rate)
    assert np.abs(out[800:-800]).max() < 1e-3  # 11 kHz cannot exist at 16 kHz: removed, not aliased


def test_to_mono_16k_errors():
    with pytest.raises(TypeError):
        to_mono_16k(np.zeros(10, np.int16), 16000)
    with pytest.raises(ValueError, match='shape'):
        to_mono_16k(np.zeros((2, 3, 4), np.float32), 16000)
    with pytest.raises(ValueError, match='sample_rate'):
        to_mono_16k(np.zeros(10, np.float32), -5)
    assert to_mono_16k(np.zeros((0, 2), np.float32), 44100).shape == (0, )


# ---------------------------------------------------------------------------------------- load_log_mel
def _official_like_tensor(rng, num=5):
    # what AVSBench's preprocessing pickles: torch.tensor(float64, requires_grad=True)[:, None].float()
    base = torch.tensor(rng.normal(size=(num, 96, 64)), requires_grad=True)
    return base[:, None, :, :].float()


def test_load_log_mel_official_plain_pickle(tmp_path):
    tensor = _official_like_tensor(np.random.default_rng(0))
    assert tensor.requires_grad and tensor.grad_fn is not None
    path = str(tmp_path / 'clip.pkl')
    with open(path, 'wb') as f:
        pickle.dump(tensor, f)
    out = load_log_mel(path)
    assert out.dtype == np.float32 and out.shape == (5, 1, 96, 64)
    np.testing.assert_array_equal(out, tensor.detach().numpy())


@pytest.mark.parametrize('writer', ['torch_zip', 'torch_legacy', 'pickle_ndarray', 'torch_ndarray',
                                    'pickle_float64_tensor'])
def test_load_log_mel_other_writers(tmp_path, writer):
    rng = np.random.default_rng(1)
    array = rng.normal(size=(3, 1, 96, 64)).astype(np.float32)
    path = str(tmp_path / 'x.pkl')
    if writer == 'torch_zip':
        torch.save(torch.from_numpy(array), path)
    elif writer == 'torch_legacy':
        torch.save(torch.from_numpy(array), path, _use_new_zipfile_serialization=False)
    elif writer == 'pickle_ndarray':
        with open(path, 'wb') as f:
            pickle.dump(array, f)
    elif writer == 'torch_ndarray':
        torch.save(array, path)
    else:
        with open(path, 'wb') as f:
            pickle.dump(torch.from_numpy(array.astype(np.float64)), f)
    out = load_log_mel(path)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, array)


class _Evil:

    def __reduce__(self):
        return (os.system, ('echo pwned > /dev/null', ))


def test_load_log_mel_refuses_arbitrary_code(tmp_path):
    path = str(tmp_path / 'evil.pkl')
    with open(path, 'wb') as f:
        pickle.dump(_Evil(), f)
    with pytest.raises(ValueError, match=r'evil\.pkl.*os\.system|posix\.system'):
        load_log_mel(path)


@pytest.mark.parametrize('shape', [(5, 96, 64), (5, 1, 64, 96), (0, 1, 96, 64), (5, 2, 96, 64)])
def test_load_log_mel_wrong_shape(tmp_path, shape):
    path = str(tmp_path / 'bad.pkl')
    with open(path, 'wb') as f:
        pickle.dump(torch.zeros(shape), f)
    with pytest.raises(ValueError) as info:
        load_log_mel(path)
    message = str(info.value)
    assert 'bad.pkl' in message and str(shape) in message and '[num_examples >= 1, 1, 96, 64]' in message


def test_load_log_mel_other_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.pkl'):
        load_log_mel(str(tmp_path / 'missing.pkl'))
    cases = {
        'dict.pkl': {'a': 1},
        'nan.pkl': torch.full((5, 1, 96, 64), float('nan')),
        'int.pkl': torch.zeros((5, 1, 96, 64), dtype=torch.int64),
    }
    for name, obj in cases.items():
        path = str(tmp_path / name)
        with open(path, 'wb') as f:
            pickle.dump(obj, f)
        with pytest.raises(ValueError, match=name.replace('.', r'\.')):
            load_log_mel(path)
    corrupt = str(tmp_path / 'corrupt.pkl')
    with open(corrupt, 'wb') as f:
        f.write(pickle.dumps(torch.zeros(5, 1, 96, 64))[:100])
    with pytest.raises(ValueError, match=r'corrupt\.pkl'):
        load_log_mel(corrupt)
