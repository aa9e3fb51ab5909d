"""Tests of LoadClipAudio (pkl and wav sources, fitting examples to the clip's frames)."""
import pickle

import numpy as np
import pytest
import soundfile as sf
import torch

from mmavs.audio.vggish_input import waveform_to_examples
from mmavs.datasets.transforms.audio_loading import LoadClipAudio
from mmavs.registry import TRANSFORMS

SR = 16000


def _write_pkl(path, num_examples, seed=0):
    # distinct constant value per example makes row identity easy to check
    values = np.arange(1, num_examples + 1, dtype=np.float32) + seed
    array = np.broadcast_to(values[:, None, None, None], (num_examples, 1, 96, 64)).copy()
    with open(path, 'wb') as f:
        pickle.dump(torch.tensor(array.astype(np.float64), requires_grad=True).float(), f)
    return array


def _write_wav(path, seconds, seed=0):
    rng = np.random.default_rng(seed)
    ints = rng.integers(-8000, 8000, size=int(seconds * SR), dtype=np.int16)
    sf.write(path, ints, SR, subtype='PCM_16')
    return ints


def test_registered_and_built_from_config():
    transform = TRANSFORMS.build(dict(type='LoadClipAudio', source='wav', pad_mode='zeros'))
    assert isinstance(transform, LoadClipAudio)
    assert transform.source == 'wav' and transform.pad_mode == 'zeros'
    assert 'wav' in repr(transform) and 'zeros' in repr(transform)


def test_pkl_exact_count(tmp_path):
    path = str(tmp_path / 'a.pkl')
    array = _write_pkl(path, 5)
    results = LoadClipAudio()(dict(vid='a', num_frames=5, audio_pkl_path=path, audio_wav_path=None))
    assert results['audio'].dtype == np.float32 and results['audio'].shape == (5, 1, 96, 64)
    np.testing.assert_array_equal(results['audio'], array)
    assert results['audio_num_examples'] == 5


def test_pkl_more_examples_than_frames_keeps_first(tmp_path):
    path = str(tmp_path / 'a.pkl')
    array = _write_pkl(path, 7)
    results = LoadClipAudio()(dict(num_frames=3, audio_pkl_path=path))
    np.testing.assert_array_equal(results['audio'], array[:3])
    assert results['audio_num_examples'] == 7


@pytest.mark.parametrize('pad_mode', ['repeat_last', 'zeros'])
def test_pkl_fewer_examples_padded(tmp_path, pad_mode):
    path = str(tmp_path / 'a.pkl')
    _write_pkl(path, 2)
    audio = LoadClipAudio(pad_mode=pad_mode)(dict(num_frames=5, audio_pkl_path=path))['audio']
    assert audio.shape == (5, 1, 96, 64)
    per_row = audio.reshape(5, -1)
    assert np.all(per_row == per_row[:, :1])  # rows stay constant
    expected = [1, 2, 2, 2, 2] if pad_mode == 'repeat_last' else [1, 2, 0, 0, 0]
    np.testing.assert_array_equal(per_row[:, 0], expected)


def test_pkl_wrong_shape_names_file_and_shapes(tmp_path):
    path = str(tmp_path / 'bad.pkl')
    with open(path, 'wb') as f:
        pickle.dump(torch.zeros(5, 96, 64), f)
    with pytest.raises(ValueError) as info:
        LoadClipAudio()(dict(num_frames=5, audio_pkl_path=path))
    message = str(info.value)
    assert 'bad.pkl' in message and '(5, 96, 64)' in message and '1, 96, 64' in message


def test_wav_source_matches_examples_and_repeats_last(tmp_path):
    path = str(tmp_path / 'a.wav')
    ints = _write_wav(path, 2.5)  # 2.5 s -> 2 complete examples
    results = LoadClipAudio(source='wav')(dict(num_frames=5, audio_wav_path=path))
    audio = results['audio']
    assert audio.shape == (5, 1, 96, 64) and audio.dtype == np.float32
    assert results['audio_num_examples'] == 2
    # the file's samples as int16 / 32768 through the (separately tested) VGGish front end
    expected = waveform_to_examples(ints.astype(np.float64) / 32768.0, SR)
    assert expected.shape == (2, 96, 64)
    np.testing.assert_allclose(audio[:2, 0], expected, atol=1e-6, rtol=0)
    for row in (2, 3, 4):
        np.testing.assert_array_equal(audio[row], audio[1])
    assert not np.array_equal(audio[0], audio[1])


def test_wav_source_zeros_and_truncation(tmp_path):
    path = str(tmp_path / 'a.wav')
    _write_wav(path, 3.0)  # 3 examples
    padded = LoadClipAudio(source='wav', pad_mode='zeros')(dict(num_frames=10, audio_wav_path=path))['audio']
    assert padded.shape == (10, 1, 96, 64)
    assert np.all(padded[3:] == 0)
    assert np.all(padded[:3] != 0)  # real log-mel values (log(x + 0.01) is never exactly 0 here)
    cut = LoadClipAudio(source='wav')(dict(num_frames=2, audio_wav_path=path))['audio']
    np.testing.assert_array_equal(cut, padded[:2])


def test_wav_too_short(tmp_path):
    path = str(tmp_path / 'short.wav')
    _write_wav(path, 0.5)  # < 0.975 s: no complete example
    zeros = LoadClipAudio(source='wav', pad_mode='zeros')(dict(num_frames=5, audio_wav_path=path))
    assert zeros['audio_num_examples'] == 0 and np.all(zeros['audio'] == 0)
    with pytest.raises(ValueError, match=r'short\.wav.*zeros'):
        LoadClipAudio(source='wav', pad_mode='repeat_last')(dict(num_frames=5, audio_wav_path=path))


@pytest.mark.parametrize('pad_mode', ['repeat_last', 'zeros'])
def test_header_only_wav_is_an_error_not_silence(tmp_path, pad_mode):
    path = str(tmp_path / 'header_only.wav')
    sf.write(path, np.zeros((0, 2), np.int16), SR, subtype='PCM_16')
    with pytest.raises(ValueError, match=r'header_only\.wav.*no samples'):
        LoadClipAudio(source='wav', pad_mode=pad_mode)(dict(num_frames=5, audio_wav_path=path))


def test_silent_wav_is_log_offset(tmp_path):
    path = str(tmp_path / 'silent.wav')
    sf.write(path, np.zeros(2 * SR, np.int16), SR, subtype='PCM_16')
    audio = LoadClipAudio(source='wav')(dict(num_frames=2, audio_wav_path=path))['audio']
    np.testing.assert_allclose(audio, np.log(0.01), atol=1e-7, rtol=0)


def test_bad_results_and_options(tmp_path):
    with pytest.raises(ValueError, match='source'):
        LoadClipAudio(source='mp3')
    with pytest.raises(ValueError, match='pad_mode'):
        LoadClipAudio(pad_mode='reflect')
    with pytest.raises(KeyError, match='audio_pkl_path'):
        LoadClipAudio()(dict(vid='v1', num_frames=5))
    with pytest.raises(KeyError, match='num_frames'):
        LoadClipAudio()(dict(vid='v1', audio_pkl_path='x.pkl'))
    with pytest.raises(ValueError, match=r'v1.*audio_wav_path'):
        LoadClipAudio(source='wav')(dict(vid='v1', num_frames=5, audio_wav_path=None))
    path = str(tmp_path / 'a.pkl')
    _write_pkl(path, 5)
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match='num_frames'):
            LoadClipAudio()(dict(vid='v1', num_frames=bad, audio_pkl_path=path))
    with pytest.raises(FileNotFoundError, match='missing.wav'):
        LoadClipAudio(source='wav')(dict(num_frames=5, audio_wav_path=str(tmp_path / 'missing.wav')))
