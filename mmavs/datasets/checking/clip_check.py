"""Check the files of one clip: every file exists and decodes, masks fit their frames and follow the rules.

Runs in worker processes (:func:`check_clip` takes and returns picklable objects). Images are decoded in
full with PIL (``Image.load``), so a truncated PNG / JPEG is found; wavs are read with
:func:`mmavs.audio.read_wav` and log-mels with :func:`mmavs.audio.load_log_mel` (the restricted unpickler:
nothing but tensors and arrays is ever unpickled), the functions the datasets' transforms use.
"""
import os
import os.path as osp
from functools import lru_cache
from typing import Dict, Optional, Tuple

from PIL import Image

from mmavs.audio import load_log_mel, read_wav

from ..mask_decoding import LEGACY_BINARIZE, decode_binary_mask, decode_colour_mask
from ..palette import describe_colours, palette_lookup, voc_palette
from .report import ClipResult, Problem

#: Log-mel examples per clip of the object subsets (``[5, 1, 96, 64]``).
OBJECT_LOG_MEL_EXAMPLES = 5
_OWNER = 'check_avsbench'


@lru_cache(maxsize=4)
def _lut(num_classes: int) -> Dict[int, int]:
    return palette_lookup(voc_palette(num_classes))


def _open_image(path: str) -> Tuple[Optional[Image.Image], Optional[str]]:
    """The image, fully decoded, or the reason it cannot be."""
    try:
        with Image.open(path) as img:
            img.load()
            return img.copy(), None
    except (OSError, SyntaxError, ValueError) as e:  # PIL's errors for unreadable / truncated images
        return None, str(e)


def _load(path: str, what: str, error) -> Optional[Image.Image]:
    """The decoded image, or None after reporting it missing or undecodable."""
    if not osp.isfile(path):
        error('missing_file', path, f'{what} file does not exist')
        return None
    img, reason = _open_image(path)
    if img is None:
        error('unreadable_image', path, f'{what} cannot be decoded: {reason}')
    return img


def _check_frames(task, error) -> Dict[int, Tuple[int, int]]:
    """Frame sizes by index; problems for missing or undecodable frames."""
    sizes = {}
    for index, path in enumerate(task.frames):
        img = _load(path, 'frame', error)
        if img is not None:
            sizes[index] = img.size
    return sizes


def _check_mask(task, index: int, path: str, frame_sizes: Dict[int, Tuple[int, int]], error, warn) -> bool:
    """Check one mask; False if it does not exist."""
    if not osp.isfile(path):
        error('missing_file', path, 'mask file does not exist')
        return False
    img = _load(path, 'mask', error)
    if img is None:
        return True
    frame_size = frame_sizes.get(index)
    if frame_size is not None and img.size != frame_size:
        error('mask_size', path, f'mask is {img.size[0]}x{img.size[1]} (WxH) but its frame '
              f'"{task.frames[index]}" is {frame_size[0]}x{frame_size[1]}')
    try:
        if task.subset == 'avss':
            _, unknown = decode_colour_mask(img, path, _lut(task.num_classes), _OWNER)
            if unknown:
                error('off_palette', path, f'{len(unknown)} colour(s) not in the {task.num_classes}-colour '
                      f'palette: {describe_colours(unknown)} (the official loader maps them to background)')
            return True
        rule = LEGACY_BINARIZE[task.subset]
        decoded = decode_binary_mask(img, path, rule, _OWNER)
    except ValueError as e:
        error('unreadable_image', path, str(e))
        return True
    values = decoded.extra_levels()
    if values is not None:
        warn('not_two_level', path, decoded.describe_levels(path, values) +
             f' (the benchmark configs decode {task.subset} masks with binarize="legacy", i.e. {rule!r})')
    return True


def _check_mask_count(task, error) -> None:
    """AVSS: ``labels_rgb`` holds as many PNGs as the clip has annotated frames."""
    if task.expected_masks is None or not osp.isdir(task.mask_folder):
        return
    num = sum(name.endswith('.png') for name in os.listdir(task.mask_folder))
    if num != task.expected_masks:
        error('mask_count', task.mask_folder, f'{num} masks for {task.expected_masks} frames')


def _check_audio(task, result: ClipResult, error) -> None:
    for kind, path in task.audio.items():
        found = osp.isfile(path)
        result.audio_found[kind] = found
        if not found:
            continue  # whether a missing file is a problem depends on the other clips (see the checker)
        try:
            if kind == 'wav':
                read_wav(path)
                continue
            examples = load_log_mel(path)
        except (ValueError, OSError, RuntimeError) as e:
            error('unreadable_audio', path, str(e))
            continue
        if examples.shape[0] != OBJECT_LOG_MEL_EXAMPLES:
            error('log_mel_shape', path, f'log-mel has shape {list(examples.shape)}; the {task.subset} files '
                  f'are [{OBJECT_LOG_MEL_EXAMPLES}, 1, 96, 64] (one 0.96 s example per frame)')


def check_clip(task) -> ClipResult:
    """Check every file of one clip (a :class:`~mmavs.datasets.checking.layout.ClipTask`).

    Returns:
        ClipResult: The problems found (each naming its file) and which audio files exist.
    """
    result = ClipResult(task.split, task.clip)

    def error(kind: str, path: str, message: str) -> None:
        result.problems.append(Problem('error', kind, path, message, task.split, task.clip))

    def warn(kind: str, path: str, message: str) -> None:
        result.problems.append(Problem('warning', kind, path, message, task.split, task.clip))

    frame_sizes = _check_frames(task, error)
    result.masks_found = sum(_check_mask(task, index, path, frame_sizes, error, warn) for index, path in task.masks)
    _check_mask_count(task, error)
    _check_audio(task, result, error)
    return result
