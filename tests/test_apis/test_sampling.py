"""Frame times, clip planning and per-frame audio of mmavs.apis.sampling."""
import numpy as np
import pytest

from mmavs.apis.sampling import ClipSpec, FrameSampling, clip_audio_examples, plan_clips
from mmavs.audio import waveform_to_examples


def test_benchmark_times_are_fifteen_sixteenths_into_each_second() -> None:
    sampling = FrameSampling.benchmark()
    assert sampling.times(5.0, 'v.mp4').tolist() == [0.9375, 1.9375, 2.9375, 3.9375, 4.9375]
    # a frame exists only where its time is inside the video
    assert sampling.times(4.9, 'v.mp4').tolist() == [0.9375, 1.9375, 2.9375, 3.9375]
    assert len(sampling.times(60.0, 'v.mp4')) == 60


def test_dense_times_are_interval_centres() -> None:
    sampling = FrameSampling.dense(4)
    assert sampling.times(2.0, 'v.mp4').tolist() == [0.125, 0.375, 0.625, 0.875, 1.125, 1.375, 1.625, 1.875]
    with pytest.raises(ValueError, match='positive'):
        FrameSampling.dense(0)


def test_video_shorter_than_one_interval_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match=r'"short\.mp4" lasts 0\.500 s, shorter than one frame interval'):
        FrameSampling.benchmark().times(0.5, 'short.mp4')
    with pytest.raises(ValueError, match='short.mp4'):
        FrameSampling.dense(2).times(0.3, 'short.mp4')


@pytest.mark.parametrize('padding,sources,flags', [
    ('repeat', [10, 11, 11, 11, 11], [True] * 5),
    ('flag', [10, 11, None, None, None], [True, True, False, False, False]),
])
def test_plan_clips_pads_the_last_clip_as_trained(padding, sources, flags) -> None:
    clips = plan_clips(12, ClipSpec(5, padding, 'repeat_last', 's4'), 'talk')
    assert [c.clip_id for c in clips] == ['talk_0', 'talk_1', 'talk_2']
    assert [c.num_real for c in clips] == [5, 5, 2]
    assert clips[1].sources == [5, 6, 7, 8, 9]
    assert clips[2].sources == sources
    assert clips[2].frame_flags == flags
    assert plan_clips(5, ClipSpec(5, padding, 'zeros', 's4'), 'talk')[0].clip_id == 'talk'


def _noise(seconds: float, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(int(seconds * 16000)) * 0.1).astype(np.float32)


def test_benchmark_audio_is_the_clip_segment_from_its_start() -> None:
    wave = _noise(12.0)
    spec = ClipSpec(5, 'repeat', 'repeat_last', 's4')
    sampling = FrameSampling.benchmark()
    clips = plan_clips(12, spec, 'x')
    times = sampling.times(12.0, 'x')
    second = clip_audio_examples(wave, clips[1], sampling, spec, times, 'x')
    # clip 1 covers seconds 5..10: examples of exactly those 80000 samples, one per frame
    np.testing.assert_array_equal(second[:, 0], waveform_to_examples(wave[80000:160000], 16000))
    last = clip_audio_examples(wave, clips[2], sampling, spec, times, 'x')
    tail = waveform_to_examples(wave[160000:], 16000)  # 2 s: two examples, the last repeated (S4 padding)
    assert len(tail) == 2 and last.shape == (5, 1, 96, 64)
    np.testing.assert_array_equal(last[:2, 0], tail)
    for t in (2, 3, 4):
        np.testing.assert_array_equal(last[t, 0], tail[1])


def test_flagged_padding_gets_zero_audio() -> None:
    wave = _noise(12.0)
    spec = ClipSpec(10, 'flag', 'zeros', 'avss')
    sampling = FrameSampling.benchmark()
    clips = plan_clips(12, spec, 'x')
    last = clip_audio_examples(wave, clips[1], sampling, spec, sampling.times(12.0, 'x'), 'x')
    np.testing.assert_array_equal(last[:2, 0], waveform_to_examples(wave[160000:], 16000))
    assert not last[2:].any()


def test_dense_audio_example_is_centred_on_its_frame() -> None:
    wave = np.zeros(4 * 16000, np.float32)
    burst = np.sin(2 * np.pi * 1000 * np.arange(800) / 16000).astype(np.float32)  # 50 ms tone
    wave[2 * 16000 - 400:2 * 16000 + 400] = burst  # centred on t = 2.0 s
    spec = ClipSpec(5, 'repeat', 'repeat_last', 's4')
    sampling = FrameSampling.dense(4)
    times = np.array([2.0, 0.05, 3.99, 1.0, 3.0])  # any frame times
    clip = plan_clips(5, spec, 'x')[0]
    examples = clip_audio_examples(wave, clip, sampling, spec, times, 'x')[:, 0]
    energy = examples[0].mean(axis=1)  # log-mel frame energy of the example centred on 2.0 s
    peak = int(np.argmax(energy))
    assert 44 <= peak <= 51, peak  # the 96 frames span 0.975 s: the burst is in the middle
    # at the ends the window is shifted inside the track: the first / last 15600 samples
    np.testing.assert_array_equal(examples[1], waveform_to_examples(wave[:15600], 16000)[0])
    np.testing.assert_array_equal(examples[2], waveform_to_examples(wave[-15600:], 16000)[0])
