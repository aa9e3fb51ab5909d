"""MIT caption files: format, loading, validation and atomic writing.

Format (one JSON file per subset, at the subset's data root; see ``docs/captions.md``)::

    {
      "<clip_id>": {
        "video": "<one caption of the whole clip>",
        "segments": ["<caption of frames 1..w>", "<caption of frames w+1..2w>", ...],
        "frames": ["<caption of frame 1>", ..., "<caption of the last real frame>"]
      },
      ...
    }

- ``clip_id`` is the S4 / MS3 video name (first csv column) or the AVSS ``uid``; one file may hold the
  clips of all splits.
- ``frames`` has one caption per **real** frame (5 for S4 / MS3; 5 or 10 for AVSS), padded frames have
  none.
- ``segments`` has one caption per window of ``w`` consecutive real frames, windows non-overlapping and
  in order, the last one possibly shorter: ``ceil(N / w)`` captions for ``N`` real frames. ``w``
  defaults to ``ceil(T / 2)`` for S4 / MS3 and ``ceil(T / 4)`` for AVSS, ``T`` the padded clip length
  (5 and 10: ``w = 3`` in both cases). The windows and the frame -> segment map are in
  :mod:`mmavs.datasets.caption_windows`.
- every caption is a non-empty string; an entry has exactly the three keys.

Default file names (relative to the data root): :data:`CAPTION_FILES`.
"""
import json
import os
import os.path as osp
import tempfile
from typing import Dict, Mapping, Optional, Sequence, Tuple

from .caption_windows import frame_segment_index, segment_windows

#: Default caption file of each subset, relative to its data root.
CAPTION_FILES: Dict[str, str] = {
    's4': 's4_captions.json',
    'ms3': 'ms3_captions.json',
    'avss': 'captions.json',
}
#: Keys of one clip entry.
ENTRY_KEYS: Tuple[str, ...] = ('video', 'segments', 'frames')


def _entry_error(source: str, clip_id: str, what: str) -> ValueError:
    return ValueError(f'caption file "{source}": clip "{clip_id}": {what}')


def check_entry_structure(entry: object, clip_id: str, source: str) -> None:
    """Check the types of one clip entry (not the counts; see :func:`validate_clip_captions`).

    Args:
        entry (object): The parsed value of the clip.
        clip_id (str): Its id (for the error message).
        source (str): File it comes from (for the error message).

    Raises:
        ValueError: When the entry is not ``{"video": str, "segments": [str], "frames": [str]}`` with
            non-empty strings, naming the file, the clip and the key.
    """
    if not isinstance(entry, dict):
        raise _entry_error(source, clip_id,
                           f'expected an object with keys {list(ENTRY_KEYS)}, got {type(entry).__name__}')
    missing = [k for k in ENTRY_KEYS if k not in entry]
    unknown = sorted(k for k in entry if k not in ENTRY_KEYS)
    if missing or unknown:
        raise _entry_error(source, clip_id, f'missing key(s) {missing}, unknown key(s) {unknown}; '
                           f'an entry has exactly the keys {list(ENTRY_KEYS)}')
    if not isinstance(entry['video'], str) or not entry['video'].strip():
        raise _entry_error(source, clip_id, f'"video" must be a non-empty string, got {entry["video"]!r}')
    for key in ('segments', 'frames'):
        value = entry[key]
        if not isinstance(value, list):
            raise _entry_error(source, clip_id,
                               f'"{key}" must be a list of strings, got {type(value).__name__}')
        for index, caption in enumerate(value):
            if not isinstance(caption, str) or not caption.strip():
                raise _entry_error(source, clip_id,
                                   f'"{key}"[{index}] must be a non-empty string, got {caption!r}')


def load_caption_file(path: str) -> Dict[str, dict]:
    """Read a caption file and check the structure of every entry.

    Args:
        path (str): The JSON file.

    Returns:
        dict[str, dict]: ``{clip_id: {"video": str, "segments": [str], "frames": [str]}}``.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: Not valid JSON, not an object, or a malformed entry (the clip is named).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'caption file "{path}" does not exist. Write it with '
            '`python tools/dataset_converters/generate_captions.py` (see docs/captions.md), or run '
            'without text (with_text=False).')
    with open(path, encoding='utf-8') as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f'caption file "{path}" is not valid JSON: {e}') from None
    if not isinstance(data, dict):
        raise ValueError(f'caption file "{path}" must hold a JSON object {{clip_id: entry}}, got '
                         f'{type(data).__name__}')
    for clip_id, entry in data.items():
        check_entry_structure(entry, clip_id, path)
    return data


def validate_clip_captions(entry: Mapping[str, object], clip_id: str, num_real_frames: int,
                           window: int, source: str) -> None:
    """Check that a clip entry has one caption per real frame and one per segment window.

    Args:
        entry (Mapping): The clip's entry (structure already checked or checked here).
        clip_id (str): Its id.
        num_real_frames (int): ``N`` real frames of the clip.
        window (int): Segment window.
        source (str): File it comes from (for the error message).

    Raises:
        ValueError: Wrong number of frame or segment captions, naming the file and the clip.
    """
    check_entry_structure(entry, clip_id, source)
    frames, segments = entry['frames'], entry['segments']
    if len(frames) != num_real_frames:
        raise _entry_error(source, clip_id, f'{len(frames)} frame captions, the clip has '
                           f'{num_real_frames} real frames (one caption per real frame)')
    expected = len(segment_windows(num_real_frames, window))
    if len(segments) != expected:
        raise _entry_error(source, clip_id, f'{len(segments)} segment captions, expected {expected} '
                           f'(windows of {window} frames over {num_real_frames} real frames)')


def clip_caption_info(captions: Mapping[str, dict], clip_id: str, num_real_frames: int,
                      num_frames: int, window: int, source: str) -> dict:
    """The ``captions`` entry of a clip's ``data_info``.

    Args:
        captions (Mapping[str, dict]): Loaded caption file (:func:`load_caption_file`).
        clip_id (str): The clip.
        num_real_frames (int): ``N`` real frames (the first ``N`` of the clip).
        num_frames (int): ``T``, clip length after padding.
        window (int): Segment window.
        source (str): Caption file path (for error messages).

    Returns:
        dict: ``dict(video=str, segments=[str] * ceil(N / window), frames=[str] * N,
        frame_segment=[int] * T)`` (``frame_segment``: segment index per frame, -1 for padded frames).

    Raises:
        KeyError: The clip has no entry (the clip and the file are named).
        ValueError: Wrong counts (see :func:`validate_clip_captions`).
    """
    if clip_id not in captions:
        raise KeyError(f'caption file "{source}" has no captions for clip "{clip_id}"; regenerate it '
                       'with tools/dataset_converters/generate_captions.py or run without text '
                       '(with_text=False)')
    entry = captions[clip_id]
    validate_clip_captions(entry, clip_id, num_real_frames, window, source)
    return dict(
        video=entry['video'],
        segments=list(entry['segments']),
        frames=list(entry['frames']),
        frame_segment=frame_segment_index(num_real_frames, num_frames, window))


def dump_caption_file(path: str, captions: Mapping[str, dict]) -> None:
    """Write a caption file atomically (temporary file in the same folder, then rename).

    An interrupted write never leaves a truncated file, so a partially generated file can be resumed.

    Args:
        path (str): Output JSON file.
        captions (Mapping[str, dict]): ``{clip_id: entry}``.
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.captions_', suffix='.json.tmp', dir=folder)
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            json.dump(dict(captions), f, ensure_ascii=False, indent=1)
            f.write('\n')
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def num_real_frames(frame_paths: Sequence[Optional[str]], clip_id: str) -> int:
    """Number of frames with an image of a clip whose image frames come first.

    Those are the frames captions describe: padded frames have no image, and neither have blank frames
    (padding trained as a real frame, ``AVSSDataset(short_v2_train='legacy')``), although their
    ``frame_flags`` are True; so this counts ``frame_paths`` entries, not flags.

    Args:
        frame_paths (Sequence[str | None]): ``frame_paths`` of the ``data_info``, length ``T`` (None for a
            frame without an image).
        clip_id (str): For the error message.

    Returns:
        int: ``N``.

    Raises:
        ValueError: When a frame with an image follows one without (captions index the first ``N`` frames).
    """
    has_image = [path is not None for path in frame_paths]
    count = sum(has_image)
    if has_image != [True] * count + [False] * (len(has_image) - count):
        raise ValueError(f'clip "{clip_id}": frames with an image must come first to match captions, got '
                         f'frame_paths {list(frame_paths)}')
    return count


def resolve_caption_path(data_root: Optional[str], caption_file: str) -> str:
    """``caption_file`` relative to ``data_root`` unless absolute (or no root)."""
    if osp.isabs(caption_file) or not data_root:
        return caption_file
    return osp.join(data_root, caption_file)
