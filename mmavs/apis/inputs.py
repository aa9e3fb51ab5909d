"""The three kinds of input of :class:`~mmavs.apis.AVSInferencer` and how plain values map to them."""
import os
import os.path as osp
import re
from dataclasses import dataclass
from pathlib import Path
from typing import List, Mapping, Optional, Union

from .video_io import VIDEO_EXTENSIONS

#: Frame files a frame folder may hold.
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp')
_NUMBER = re.compile(r'(\d+)(?!.*\d)')


@dataclass(frozen=True)
class DatasetClip:
    """A clip of the config's AVSBench dataset (the test dataset config, with ``split`` replaced).

    Attributes:
        split (str): 'train', 'val' or 'test'.
        clip (str): S4 / MS3 video name or AVSS ``uid``.
    """
    split: str
    clip: str

    @property
    def name(self) -> str:
        return self.clip


@dataclass(frozen=True)
class FrameFolder:
    """Frames already sampled the benchmark's way (one per second) and the wav of the same seconds.

    Attributes:
        frames (str): Folder of frame images (jpg / png / bmp), ordered by the last number in their names
            (``0.jpg .. 9.jpg``, ``{vid}_1.png .. {vid}_5.png``).
        audio (str, optional): The wav. Default: the only ``.wav`` in ``frames``, else ``audio.wav`` next to
            the folder (the AVSS layout ``{uid}/frames/`` + ``{uid}/audio.wav``).
    """
    frames: str
    audio: Optional[str] = None

    @property
    def name(self) -> str:
        base = osp.basename(osp.normpath(self.frames))
        if base == 'frames':  # AVSS layout: name the clip by its uid folder
            base = osp.basename(osp.dirname(osp.normpath(self.frames))) or base
        return base

    def frame_paths(self) -> List[str]:
        """The frame files in order.

        Raises:
            FileNotFoundError: The folder does not exist or holds no frame image.
            ValueError: A frame name has no number, or two frames share one.
        """
        if not osp.isdir(self.frames):
            raise FileNotFoundError(f'frame folder "{self.frames}" does not exist')
        names = [n for n in os.listdir(self.frames) if osp.splitext(n)[1].lower() in IMAGE_EXTENSIONS]
        if not names:
            raise FileNotFoundError(
                f'frame folder "{self.frames}" holds no frame image ({", ".join(IMAGE_EXTENSIONS)})')
        numbered = {}
        for name in names:
            match = _NUMBER.search(osp.splitext(name)[0])
            if match is None:
                raise ValueError(f'frame folder "{self.frames}": "{name}" has no frame number in its name')
            index = int(match.group(1))
            if index in numbered:
                raise ValueError(f'frame folder "{self.frames}": "{numbered[index]}" and "{name}" have the same '
                                 f'frame number {index}')
            numbered[index] = name
        return [osp.join(self.frames, numbered[i]) for i in sorted(numbered)]

    def audio_path(self) -> str:
        """The wav of the frames (see :attr:`audio`).

        Raises:
            FileNotFoundError: The given wav does not exist, or none was given and none is found (the
                message names the folder and where it looked).
            ValueError: No wav was given and the folder holds several.
        """
        if self.audio is not None:
            if not osp.isfile(self.audio):
                raise FileNotFoundError(f'audio file "{self.audio}" of frame folder "{self.frames}" does not exist')
            return self.audio
        wavs = sorted(n for n in os.listdir(self.frames) if n.lower().endswith('.wav'))
        if len(wavs) > 1:
            raise ValueError(f'frame folder "{self.frames}" holds several wav files {wavs}; name one (audio=...)')
        if wavs:
            return osp.join(self.frames, wavs[0])
        sibling = osp.join(osp.dirname(osp.normpath(self.frames)), 'audio.wav')
        if osp.isfile(sibling):
            return sibling
        raise FileNotFoundError(f'frame folder "{self.frames}" has no wav file: none inside it and no "{sibling}"; '
                                'the model needs the sound of the frames (give audio=PATH / --audio PATH)')


@dataclass(frozen=True)
class VideoFile:
    """A video file with an audio track (mp4, mkv, webm, mov; anything FFmpeg reads).

    Attributes:
        path (str): The file.
    """
    path: str

    @property
    def name(self) -> str:
        return osp.splitext(osp.basename(self.path))[0]


InferenceInput = Union[DatasetClip, FrameFolder, VideoFile]


def as_inference_input(value: Union[InferenceInput, str, Path, Mapping]) -> InferenceInput:
    """Turn a plain value into an input.

    - :class:`DatasetClip` / :class:`FrameFolder` / :class:`VideoFile`: as is;
    - a folder path: :class:`FrameFolder`; a file path: :class:`VideoFile`;
    - a dict: ``dict(split=..., clip=...)``, ``dict(frames=..., audio=...)`` or ``dict(video=...)``.

    Raises:
        FileNotFoundError: A path that does not exist.
        ValueError: A dict of other keys, or a file whose extension is not a video container's.
    """
    if isinstance(value, (DatasetClip, FrameFolder, VideoFile)):
        return value
    if isinstance(value, Mapping):
        keys = set(value)
        if keys == {'split', 'clip'}:
            return DatasetClip(split=str(value['split']), clip=str(value['clip']))
        if 'frames' in keys and keys <= {'frames', 'audio'}:
            return FrameFolder(frames=str(value['frames']), audio=value.get('audio'))
        if keys == {'video'}:
            return as_inference_input(str(value['video']))
        raise ValueError(f'an input dict has the keys (split, clip), (frames[, audio]) or (video); got {sorted(keys)}')
    if isinstance(value, (str, Path)):
        path = str(value)
        if osp.isdir(path):
            return FrameFolder(frames=path)
        if not osp.exists(path):
            raise FileNotFoundError(f'input "{path}" does not exist (a video file or a frame folder was expected)')
        if osp.splitext(path)[1].lower() not in VIDEO_EXTENSIONS:
            raise ValueError(f'input "{path}" is not a video file ({", ".join(VIDEO_EXTENSIONS)}) nor a frame folder')
        return VideoFile(path=path)
    raise TypeError(f'unsupported input {type(value).__name__}: give a video path, a frame folder, a DatasetClip, '
                    'a FrameFolder or a VideoFile')
