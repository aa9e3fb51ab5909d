"""Video files through PyAV: probing, frames at given times, the audio track, and writing (video + audio).

PyAV (``av``, the ``[video]`` extra) is imported when a function needs it, so ``import mmavs.apis`` works
without it. Times are in seconds from the **first video frame** (its presentation time), whatever the
container's start time: frame ``i`` of a constant-rate video is at ``i / fps``. Every error names the file.
"""
import itertools
import os
import os.path as osp
from collections import deque
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterable, Iterator, Optional, Sequence, Tuple

import numpy as np

#: Containers the inferencer and the demos accept as video input.
VIDEO_EXTENSIONS: Tuple[str, ...] = ('.mp4', '.mkv', '.webm', '.mov')

#: Default codecs by output container: (video, audio).
_DEFAULT_CODECS = {
    '.mp4': ('libx264', 'aac'),
    '.mov': ('libx264', 'aac'),
    '.mkv': ('libx264', 'aac'),
    '.webm': ('libvpx-vp9', 'libopus'),
}
#: Sample rates the Opus encoder takes; others are resampled to 48 kHz.
_OPUS_RATES = (8000, 12000, 16000, 24000, 48000)
#: Pixel formats with subsampled chroma: they need an even width and height.
_SUBSAMPLED = ('yuv420p', 'yuvj420p', 'yuv422p', 'yuvj422p', 'nv12', 'nv21', 'yuv420p10le')
#: Frames are matched to times with this tolerance (seconds), against float rounding of rational times.
_TIME_EPS = 1e-6


class VideoReadError(ValueError):
    """A video file that cannot be used (unreadable, empty, without frames); the message names the file."""


class MissingAudioError(VideoReadError):
    """A video file without an audio track (the models need sound); the message names the file."""


def _import_av():
    try:
        import av
    except ImportError:  # pragma: no cover - av is in the fresh-machine pins
        raise ImportError('Video input and output need PyAV: pip install "mmavs[video]" (or pip install av).') \
            from None
    return av


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe_video` found out about a video file without decoding it.

    Attributes:
        path (str): The file.
        duration (float): Seconds from the first video frame to the end of the last one (its presentation
            time plus its duration), from the packets of the video stream.
        start_time (float): Presentation time of the first video frame in the container (seconds); the
            times of this module are relative to it.
        num_frames (int): Packets of the video stream (one per frame for the usual codecs).
        fps (float): Average frame rate of the stream (``num_frames / duration`` if the container has none).
        width (int): Frame width in pixels.
        height (int): Frame height in pixels.
        has_audio (bool): The file has an audio stream.
    """
    path: str
    duration: float
    start_time: float
    num_frames: int
    fps: float
    width: int
    height: int
    has_audio: bool


def _open(path: str):
    """Open ``path`` for reading with PyAV; clear errors for a missing, empty or unreadable file."""
    av = _import_av()
    path = str(path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'video file "{path}" does not exist')
    if os.path.getsize(path) == 0:
        raise VideoReadError(f'video file "{path}" is empty (0 bytes)')
    try:
        return av.open(path)
    except av.error.EOFError as err:
        raise VideoReadError(f'video file "{path}" ends before its first frame (zero-length or truncated): {err}') \
            from None
    except (av.FFmpegError, UnicodeDecodeError) as err:
        raise VideoReadError(f'cannot read video file "{path}": {err}') from None


def _video_stream(container, path: str):
    if not container.streams.video:
        kinds = [s.type for s in container.streams]
        raise VideoReadError(f'"{path}" has no video stream (streams: {kinds or "none"})')
    return container.streams.video[0]


def probe_video(path: str) -> VideoInfo:
    """Read the timing of a video file from its packets (demuxing only, no decoding).

    Args:
        path (str): A video file PyAV / FFmpeg can read (mp4, mkv, webm, mov, ...).

    Returns:
        VideoInfo: Duration, first-frame time, frame count, rate, size and whether there is audio.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        VideoReadError: The file is empty, unreadable, has no video stream or no video frames.
    """
    av = _import_av()
    container = _open(path)
    try:
        stream = _video_stream(container, path)
        first, end, count = None, None, 0
        try:
            for packet in container.demux(stream):
                if packet.pts is None:  # the flushing packet
                    continue
                count += 1
                start = packet.pts * packet.time_base
                stop = (packet.pts + (packet.duration or 0)) * packet.time_base
                first = start if first is None else min(first, start)
                end = stop if end is None else max(end, stop)
        except av.FFmpegError as err:
            raise VideoReadError(f'cannot read video file "{path}": {err}') from None
        if count == 0:
            raise VideoReadError(f'video file "{path}" holds no video frames (zero-length video stream)')
        duration = float(end - first)
        rate = float(stream.average_rate) if stream.average_rate else (count / duration if duration > 0 else 0.)
        return VideoInfo(path=str(path), duration=duration, start_time=float(first), num_frames=count, fps=rate,
                         width=int(stream.codec_context.width), height=int(stream.codec_context.height),
                         has_audio=bool(container.streams.audio))
    finally:
        container.close()


def iter_video_frames(path: str, info: Optional[VideoInfo] = None) -> Iterator[Tuple[float, object]]:
    """Decode the video stream in presentation order.

    Args:
        path (str): The video file.
        info (VideoInfo, optional): Its :func:`probe_video` result (probed when None).

    Yields:
        tuple[float, av.VideoFrame]: Time from the first frame (seconds) and the decoded frame.

    Raises:
        VideoReadError: A decoding error (the file is named).
    """
    av = _import_av()
    info = info or probe_video(path)
    container = _open(path)
    try:
        stream = _video_stream(container, path)
        stream.thread_type = 'AUTO'
        try:
            for frame in container.decode(stream):
                if frame.time is None:
                    raise VideoReadError(f'video file "{path}": a decoded frame has no timestamp')
                yield float(frame.time) - info.start_time, frame
        except av.FFmpegError as err:
            raise VideoReadError(f'cannot decode video file "{path}": {err}') from None
    finally:
        container.close()


def frames_at(path: str, times: Sequence[float], info: Optional[VideoInfo] = None) -> Iterator[Tuple[int, np.ndarray]]:
    """The frames shown at ascending ``times``: for each time, the last frame that starts at or before it.

    The video is decoded once, front to back; only the selected frames are converted to RGB. A time past
    the last frame's start gets the last frame.

    Args:
        path (str): The video file.
        times (Sequence[float]): Ascending times in seconds from the first frame.
        info (VideoInfo, optional): Its :func:`probe_video` result.

    Yields:
        tuple[int, np.ndarray]: Decoded index of the frame and the frame, uint8 RGB ``[H, W, 3]``.
    """
    times = [float(t) for t in times]
    if any(b < a for a, b in zip(times, times[1:])):
        raise ValueError(f'frames_at("{path}"): times must be ascending')
    pending = iter(times)
    target = next(pending, None)
    previous: Optional[Tuple[int, object]] = None
    for index, (time, frame) in enumerate(iter_video_frames(path, info)):
        while target is not None and previous is not None and time > target + _TIME_EPS:
            yield previous[0], previous[1].to_ndarray(format='rgb24')
            target = next(pending, None)
        if target is None:
            return
        previous = (index, frame)
    while target is not None and previous is not None:
        yield previous[0], previous[1].to_ndarray(format='rgb24')
        target = next(pending, None)


def read_audio_track(path: str, info: Optional[VideoInfo] = None) -> Tuple[np.ndarray, int]:
    """Decode the first audio stream as float samples aligned to the first video frame.

    Samples are converted to float32 by FFmpeg's resampler (integer PCM scaled by its full range, e.g.
    ``int16 / 32768``, as :func:`mmavs.audio.read_wav` does), at the stream's own rate and channels. Sample 0
    is at the first video frame: audio that starts later is preceded by zeros, audio that starts earlier
    is cut.

    Args:
        path (str): The video file.
        info (VideoInfo, optional): Its :func:`probe_video` result.

    Returns:
        tuple[np.ndarray, int]: float32 ``[N, C]`` samples (samples first, as :func:`mmavs.audio.read_wav`)
        and the sample rate in Hz.

    Raises:
        MissingAudioError: The file has no audio stream.
        VideoReadError: The audio cannot be decoded or holds no samples.
    """
    av = _import_av()
    info = info or probe_video(path)
    container = _open(path)
    try:
        if not container.streams.audio:
            raise MissingAudioError(f'video file "{path}" has no audio track')
        stream = container.streams.audio[0]
        chunks, resampler, first_time, rate = [], None, None, None
        try:
            for frame in container.decode(stream):
                if resampler is None:
                    rate = int(frame.sample_rate)
                    resampler = av.AudioResampler(format='fltp', layout=frame.layout.name, rate=rate)
                    first_time = frame.time
                for converted in resampler.resample(frame):
                    chunks.append(converted.to_ndarray())
            if resampler is not None:
                chunks.extend(f.to_ndarray() for f in resampler.resample(None))
        except av.FFmpegError as err:
            raise VideoReadError(f'cannot decode the audio track of "{path}": {err}') from None
    finally:
        container.close()
    if not chunks or sum(c.shape[1] for c in chunks) == 0:
        raise VideoReadError(f'the audio track of "{path}" holds no samples')
    samples = np.ascontiguousarray(np.concatenate(chunks, axis=1), dtype=np.float32)
    offset = int(round(((first_time or 0.0) - info.start_time) * rate))
    if offset > 0:
        samples = np.concatenate([np.zeros((samples.shape[0], offset), np.float32), samples], axis=1)
    elif offset < 0:
        samples = samples[:, -offset:]
    return np.ascontiguousarray(samples.T), rate


def _stream_size(width: int, height: int, pix_fmt: str) -> Tuple[int, int]:
    """``(width, height)`` of the stream: rounded up to even numbers for subsampled chroma."""
    if pix_fmt in _SUBSAMPLED:
        return width + width % 2, height + height % 2
    return width, height


def write_video(path: str,
                frames: Iterable[Tuple[float, np.ndarray]],
                fps: float,
                audio: Optional[Tuple[np.ndarray, int]] = None,
                video_codec: Optional[str] = None,
                audio_codec: Optional[str] = None,
                pix_fmt: str = 'yuv420p',
                video_options: Optional[dict] = None) -> int:
    """Encode frames (and an audio track) into a video file.

    Args:
        path (str): Output file; the container follows its extension (mp4, mov, mkv, webm).
        frames (Iterable[tuple[float, np.ndarray]]): ``(time, frame)`` pairs in time order, frames uint8 RGB
            ``[H, W, 3]`` of one size. Frame ``k`` is stamped ``round(time * fps)`` frame periods (at least one
            period after the previous frame), so a constant-rate input keeps its timing exactly.
        fps (float): Frame rate of the stream (its time base is ``1 / fps``, as a fraction).
        audio (tuple[np.ndarray, int], optional): float ``[N]`` or ``[N, C]`` samples in [-1, 1] (as
            :func:`mmavs.audio.read_wav` and :func:`read_audio_track` return them; 1 or 2 channels) and their
            rate, sample 0 at time 0. None: no audio track.
        video_codec (str, optional): Defaults to libx264 (mp4 / mov / mkv) or libvpx-vp9 (webm).
        audio_codec (str, optional): Defaults to aac (mp4 / mov / mkv) or libopus (webm, resampled to 48 kHz
            when its rate is not one Opus takes). ``pcm_s16le`` (in mkv) is lossless.
        pix_fmt (str): Pixel format of the stream. Defaults to yuv420p (what players expect), which needs an
            even width and height: odd frames are padded with one black row / column. ``bgr0`` with the
            ``ffv1`` codec (in mkv) is lossless.
        video_options (dict, optional): Encoder options, e.g. ``{'crf': '18'}`` (the default for libx264).

    Returns:
        int: Number of frames written.
    """
    av = _import_av()
    ext = osp.splitext(str(path))[1].lower()
    if ext not in _DEFAULT_CODECS:
        raise ValueError(f'write_video: cannot choose codecs for "{path}"; use one of {sorted(_DEFAULT_CODECS)}')
    default_video, default_audio = _DEFAULT_CODECS[ext]
    video_codec = video_codec or default_video
    if video_options is None:
        video_options = {'crf': '18'} if video_codec == 'libx264' else {}
    rate = Fraction(fps).limit_denominator(100000)
    folder = osp.dirname(osp.abspath(str(path)))
    os.makedirs(folder, exist_ok=True)
    frames = iter(frames)
    first = next(frames, None)
    if first is None:
        raise ValueError(f'write_video("{path}"): no frames to write')
    height, width = np.asarray(first[1]).shape[:2]
    out = av.open(str(path), 'w')
    try:
        vstream = out.add_stream(video_codec, rate=rate)
        vstream.width, vstream.height = _stream_size(width, height, pix_fmt)
        vstream.pix_fmt = pix_fmt
        vstream.options = dict(video_options)
        astream, audio_frames = None, deque()
        if audio is not None:
            astream, audio_frames = _audio_stream(av, out, audio, audio_codec or default_audio)
        written, last_pts = 0, -1
        for time, frame in itertools.chain([first], frames):
            pts = max(int(round(time * rate)), last_pts + 1)
            while audio_frames and audio_frames[0][0] <= time:  # interleave: the audio up to this frame's time
                out.mux(astream.encode(audio_frames.popleft()[1]))
            out.mux(vstream.encode(_video_frame(av, np.asarray(frame), vstream, pts, path)))
            last_pts, written = pts, written + 1
        out.mux(vstream.encode(None))
        if astream is not None:
            for _, aframe in audio_frames:
                out.mux(astream.encode(aframe))
            out.mux(astream.encode(None))
    finally:
        out.close()
    return written


def _video_frame(av, frame: np.ndarray, stream, pts: int, path: str):
    """An ``av.VideoFrame`` of ``frame`` (padded to the stream's even size) stamped ``pts``."""
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f'write_video("{path}"): frames must be uint8 RGB [H, W, 3], got {frame.dtype} '
                         f'{list(frame.shape)}')
    height, width = frame.shape[:2]
    if _stream_size(width, height, stream.pix_fmt) != (stream.width, stream.height):
        raise ValueError(f'write_video("{path}"): frame of {width}x{height} (WxH) in a stream of '
                         f'{stream.width}x{stream.height}; all frames must have one size')
    if (width, height) != (stream.width, stream.height):
        frame = np.pad(frame, ((0, stream.height - height), (0, stream.width - width), (0, 0)))
    vframe = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format='rgb24')
    vframe.pts = pts
    return vframe


def _audio_stream(av, out, audio: Tuple[np.ndarray, int], codec: str):
    """Add the audio stream; return it and its frames (one second each) as ``(time, av.AudioFrame)``."""
    samples, rate = audio
    samples = np.asarray(samples, dtype=np.float32)
    samples = samples[None] if samples.ndim == 1 else samples.T  # [C, N], as PyAV takes planar audio
    if samples.ndim != 2 or samples.shape[0] not in (1, 2) or samples.shape[1] == 0:
        raise ValueError(f'write_video: audio must be float [N] or [N, C] with 1 or 2 channels and N > 0, got '
                         f'{list(samples.T.shape)}')
    layout = 'mono' if samples.shape[0] == 1 else 'stereo'
    rate = int(rate)
    out_rate = rate if codec != 'libopus' or rate in _OPUS_RATES else 48000
    stream = out.add_stream(codec, rate=out_rate, layout=layout)
    encoder_format = stream.codec_context.codec.audio_formats[0].name
    resampler = av.AudioResampler(format=encoder_format, layout=layout, rate=out_rate)
    frames: deque = deque()
    for start in range(0, samples.shape[1], rate):
        chunk = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, start:start + rate]), format='fltp',
                                           layout=layout)
        chunk.sample_rate = rate
        chunk.pts = start
        chunk.time_base = Fraction(1, rate)
        frames.extend((start / rate, converted) for converted in resampler.resample(chunk))
    frames.extend((samples.shape[1] / rate, converted) for converted in resampler.resample(None))
    return stream, frames
