"""PyAV video I/O of mmavs.apis.video_io: round trips, the frames AVSBench would extract, bad files."""
from fractions import Fraction

import av
import numpy as np
import pytest

from mmavs.apis import (
    FrameSampling,
    MissingAudioError,
    VideoReadError,
    frames_at,
    probe_video,
    read_audio_track,
    write_video,
)

LOSSLESS = dict(video_codec='ffv1', pix_fmt='bgr0', audio_codec='pcm_s16le')


def numbered_frames(count: int, fps: float, size=(24, 32)):
    """``(time, frame)`` pairs whose pixels encode the frame index (lossless codecs keep it)."""
    for i in range(count):
        frame = np.zeros(size + (3, ), np.uint8)
        frame[..., 0], frame[..., 1] = i % 256, i // 256
        yield i / fps, frame


def frame_number(frame: np.ndarray) -> int:
    return int(frame[0, 0, 0]) + 256 * int(frame[0, 0, 1])


def tone(seconds: float, rate: int = 16000, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    wave = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    return wave if channels == 1 else np.stack([wave, -wave], axis=1)


def test_lossless_round_trip(tmp_path) -> None:
    path = str(tmp_path / 'clip.mkv')
    audio = tone(3.0, channels=2)
    assert write_video(path, numbered_frames(30, 10), 10, audio=(audio, 16000), **LOSSLESS) == 30
    info = probe_video(path)
    assert info.duration == pytest.approx(3.0) and info.num_frames == 30 and info.fps == pytest.approx(10)
    assert (info.width, info.height) == (32, 24) and info.has_audio
    picked = list(frames_at(path, [0.0, 0.05, 0.1, 2.95, 10.0], info))
    assert [i for i, _ in picked] == [0, 0, 1, 29, 29]
    assert [frame_number(f) for _, f in picked] == [0, 0, 1, 29, 29]
    samples, rate = read_audio_track(path, info)
    assert rate == 16000 and samples.shape == audio.shape
    np.testing.assert_allclose(samples, audio, atol=1 / 32768 + 1e-7)  # pcm_s16le: int16 rounding only


@pytest.mark.parametrize('fps', [25, 30, Fraction(30000, 1001)])
def test_benchmark_frames_are_the_official_extraction(tmp_path, fps) -> None:
    """The frame AVSBench's preprocess_s4.py keeps in second k: ``int(k * F + 15 / 16 * F)``, F = round(fps)."""
    path = str(tmp_path / 'v.mkv')
    write_video(path, numbered_frames(int(5 * fps), fps), fps, **LOSSLESS)
    info = probe_video(path)
    rate = int(round(float(fps)))
    official = [int(k * rate + (15 * 1.0 / 16) * rate) for k in range(5)]
    times = FrameSampling.benchmark().times(info.duration, path)
    picked = [frame_number(f) for _, f in frames_at(path, times, info)]
    if float(fps).is_integer():
        assert picked == official
    else:  # 29.97 fps: the official rounding to 30 drifts by up to one frame over 5 s
        assert max(abs(a - b) for a, b in zip(picked, official)) <= 1
        assert picked[0] == official[0]


def test_mp4_has_video_and_aac_audio(tmp_path) -> None:
    path = str(tmp_path / 'v.mp4')
    write_video(path, numbered_frames(50, 10, size=(47, 65)), 10, audio=(tone(5.0), 16000))
    info = probe_video(path)
    assert info.duration == pytest.approx(5.0) and info.num_frames == 50
    assert (info.width, info.height) == (66, 48)  # yuv420p: odd sizes padded to even
    with av.open(path) as container:
        assert container.streams.audio[0].codec_context.name == 'aac'
    samples, rate = read_audio_track(path, info)
    assert rate == 16000 and abs(samples.shape[0] - 80000) < 2048  # AAC pads its last frame


def test_audio_starting_late_is_preceded_by_silence(tmp_path) -> None:
    path = str(tmp_path / 'late.mkv')
    with av.open(path, 'w') as out:
        video = out.add_stream('ffv1', rate=10)
        video.width, video.height, video.pix_fmt = 16, 16, 'bgr0'
        audio = out.add_stream('pcm_s16le', rate=16000, layout='mono')
        frame = av.AudioFrame.from_ndarray((tone(1.0) * 32767).astype(np.int16)[None], format='s16', layout='mono')
        frame.sample_rate, frame.pts, frame.time_base = 16000, 8000, Fraction(1, 16000)  # starts at 0.5 s
        out.mux(audio.encode(frame))
        out.mux(audio.encode(None))
        for i in range(20):
            image = av.VideoFrame.from_ndarray(np.zeros((16, 16, 3), np.uint8), format='rgb24')
            image.pts = i
            out.mux(video.encode(image))
        out.mux(video.encode(None))
    samples, _ = read_audio_track(path)
    assert not samples[:7990].any() and np.abs(samples[8010:9000]).max() > 0.1


def test_bad_files_are_named(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match='missing.mp4'):
        probe_video(str(tmp_path / 'missing.mp4'))
    empty = tmp_path / 'empty.mp4'
    empty.write_bytes(b'')
    with pytest.raises(VideoReadError, match=r'"[^"]*empty\.mp4" is empty \(0 bytes\)'):
        probe_video(str(empty))
    garbage = tmp_path / 'garbage.mp4'
    garbage.write_bytes(b'not a video at all' * 100)
    with pytest.raises(VideoReadError, match='cannot read video file "[^"]*garbage.mp4"'):
        probe_video(str(garbage))
    for name, codec, pix_fmt, message in (('no_frames.mkv', 'ffv1', 'bgr0', 'ends before its first frame'),
                                          ('no_frames.mp4', 'libx264', 'yuv420p', 'has no video stream')):
        with av.open(str(tmp_path / name), 'w') as out:  # headers only: a zero-length video
            stream = out.add_stream(codec, rate=10)
            stream.width, stream.height, stream.pix_fmt = 16, 16, pix_fmt
            out.start_encoding()
        with pytest.raises(VideoReadError, match=f'{name}" {message}'):
            probe_video(str(tmp_path / name))
    audio_only = str(tmp_path / 'audio_only.mkv')
    with av.open(audio_only, 'w') as out:
        stream = out.add_stream('pcm_s16le', rate=16000, layout='mono')
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1600), np.int16), format='s16', layout='mono')
        frame.sample_rate = 16000
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    with pytest.raises(VideoReadError, match='audio_only.mkv" has no video stream'):
        probe_video(audio_only)
    silent = str(tmp_path / 'silent.mkv')
    write_video(silent, numbered_frames(10, 10), 10, **LOSSLESS)
    assert not probe_video(silent).has_audio
    with pytest.raises(MissingAudioError, match='silent.mkv" has no audio track'):
        read_audio_track(silent)
