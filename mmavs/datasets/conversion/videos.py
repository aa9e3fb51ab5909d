"""One video file -> the clips of an official AVSBench layout (S4, MS3 or AVSS).

Frame timestamps follow ``preprocess_scripts/preprocess_s4.py`` / ``preprocess_ms3.py`` of
OpenNLPLab/AVSBench: for second ``k`` the decoded frame ``int(k * F + 15/16 * F)``, ``F = round(fps)``,
implemented as the frame shown at ``k + 15/16`` s (:meth:`mmavs.apis.sampling.FrameSampling.benchmark`).
The official S4 / MS3 frames are resized to 224x224 with ``cv2.resize``; ``size`` does the same (None keeps
the original size, the default for AVSS, which has no official extraction script: same rule, 10 s clips).

A video is cut into consecutive clips of ``T`` seconds (5 for S4 / MS3, 10 for AVSS) named ``{stem}`` when
it gives one clip and ``{stem}_{c}`` otherwise (:func:`mmavs.apis.sampling.plan_clips`). A last clip shorter
than ``T`` seconds (or a video shorter than one clip) is padded with ``short='pad'`` like the official
preprocessing (frames clamp to the last frame, the log-mel repeats the last example, the wav is written as
it is) or refused with ``short='refuse'``. Audio: mono 16 kHz, written as int16 wav; the ``.pkl`` is
:func:`mmavs.audio.waveform_to_examples` of the *written* wav (what ``LoadClipAudio(source='wav')``
computes), fitted to ``T`` examples by repeating the last one, float32 ``[T, 1, 96, 64]``.
"""
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from PIL import Image

from mmavs.apis.sampling import ClipSpec, FrameSampling, plan_clips
from mmavs.apis.video_io import VideoReadError, frames_at, probe_video, read_audio_track
from mmavs.audio import VGGISH_SAMPLE_RATE, to_mono_16k, waveform_to_examples
from mmavs.datasets.transforms.audio_loading import fit_examples_to_frames

from ..synthetic.file_io import dump_tensor_pickle, write_csv, write_json, write_rgb, write_wav

#: Per layout: frames per clip, metadata csv, its header.
LAYOUTS: Dict[str, dict] = {
    's4': dict(num_frames=5, csv='s4_meta_data.csv', header=('name', 'start', 'category', 'split')),
    'ms3': dict(num_frames=5, csv='ms3_meta_data.csv', header=('video_id', 'split')),
    'avss': dict(num_frames=10, csv='metadata.csv', header=('vid', 'uid', 's_min', 's_sec', 'a_obj', 'split',
                                                             'label')),
}
SHORT_POLICIES = ('refuse', 'pad')


class ConversionError(ValueError):
    """A video (or its masks) that cannot be converted; the message names the file."""


@dataclass
class VideoJob:
    """What to convert.

    Attributes:
        path (str): The video file.
        out (str): Output root (the folder of the metadata csv).
        layout (str): ``'s4'``, ``'ms3'`` or ``'avss'``.
        split (str): Split column value.
        category (str): S4 category (also AVSS ``a_obj``).
        mask_dir (str, optional): Folder of this video's mask PNGs (one per sampled frame), or None.
        size (int, optional): Square output size of frames and masks; None keeps the original.
        short (str): ``'refuse'`` or ``'pad'``.
        done (Sequence[str]): Clip ids already converted (skipped).
    """
    path: str
    out: str
    layout: str
    split: str = 'test'
    category: str = 'unknown'
    mask_dir: Optional[str] = None
    size: Optional[int] = None
    short: str = 'refuse'
    done: Sequence[str] = ()


@dataclass
class ClipRecord:
    """The outcome of one clip (or of a whole video when ``clip`` is empty).

    Attributes:
        video (str): The video file.
        clip (str): Clip id ('' for a video-level failure).
        status (str): ``'written'``, ``'skipped'`` (already done), ``'refused'`` or ``'failed'``.
        message (str): Why (for refused / failed).
        row (list): Metadata csv row of the clip.
        files (list): Files written for the clip.
    """
    video: str
    clip: str
    status: str
    message: str = ''
    row: List[str] = field(default_factory=list)
    files: List[str] = field(default_factory=list)


def clip_paths(job: VideoJob, clip_id: str, num_frames: int, with_masks: bool) -> Dict[str, List[str]]:
    """Output paths of a clip: ``frames``, ``masks`` (empty without masks), ``wav``, ``pkl`` (empty for AVSS)."""
    o, s, c = job.out, job.split, job.category
    if job.layout == 's4':
        base = osp.join(o, 's4_data')
        frames = [osp.join(base, 'visual_frames', s, c, clip_id, f'{clip_id}_{i}.png') for i in range(1, 6)]
        masks = [osp.join(base, 'gt_masks', s, c, clip_id, f'{clip_id}_{i}.png') for i in range(1, 6)]
        wav = [osp.join(base, 'audio_wav', s, c, f'{clip_id}.wav')]
        pkl = [osp.join(base, 'audio_log_mel', s, c, f'{clip_id}.pkl')]
    elif job.layout == 'ms3':
        base = osp.join(o, 'ms3_data')
        frames = [osp.join(base, 'visual_frames', clip_id, f'{clip_id}.mp4_{i}.png') for i in range(1, 6)]
        masks = [osp.join(base, 'gt_masks', s, clip_id, f'{clip_id}_{i}.png') for i in range(1, 6)]
        wav = [osp.join(base, 'audio_wav', s, f'{clip_id}.wav')]
        pkl = [osp.join(base, 'audio_log_mel', s, f'{clip_id}.pkl')]
    else:
        base = osp.join(o, 'v2', clip_id)
        frames = [osp.join(base, 'frames', f'{i}.jpg') for i in range(num_frames)]
        masks = [osp.join(base, 'labels_rgb', f'{i}.png') for i in range(num_frames)]
        wav, pkl = [osp.join(base, 'audio.wav')], []
    return dict(frames=frames, masks=masks if with_masks else [], wav=wav, pkl=pkl)


def _metadata_row(job: VideoJob, clip_id: str, start: int) -> List[str]:
    stem = osp.splitext(osp.basename(job.path))[0]
    if job.layout == 's4':
        return [clip_id, str(start), job.category, job.split]
    if job.layout == 'ms3':
        return [clip_id, job.split]
    return [stem, clip_id, str(start // 60), str(start % 60), job.category, job.split, 'v2']


def _resize(image: np.ndarray, size: Optional[int], nearest: bool) -> np.ndarray:
    if size is None or image.shape[:2] == (size, size):
        return image
    import cv2
    return cv2.resize(image, (size, size), interpolation=cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR)


def _read_masks(job: VideoJob, count: int, height: int, width: int) -> List[np.ndarray]:
    """The ``count`` masks of the video, in file-name order; grey ``[H, W]`` (S4 / MS3) or RGB (AVSS)."""
    folder = job.mask_dir
    if not osp.isdir(folder):
        raise ConversionError(f'mask folder "{folder}" of video "{job.path}" does not exist')
    names = sorted(n for n in os.listdir(folder) if n.lower().endswith('.png'))
    if len(names) != count:
        raise ConversionError(f'mask folder "{folder}" holds {len(names)} PNG masks but video "{job.path}" gives '
                              f'{count} sampled frames (one mask per sampled frame, in order)')
    masks = []
    for name in names:
        path = osp.join(folder, name)
        with Image.open(path) as img:
            array = np.asarray(img.convert('RGB' if job.layout == 'avss' else 'L'))
        if array.shape[:2] != (height, width):
            raise ConversionError(f'mask "{path}" is {array.shape[1]}x{array.shape[0]} (WxH), the frames of '
                                  f'"{job.path}" are {width}x{height}')
        masks.append(array)
    return masks


def convert_video(job: VideoJob) -> List[ClipRecord]:
    """Convert one video; never raises for bad input (the records say what went wrong).

    Returns:
        list[ClipRecord]: One record per clip, or one video-level ``'failed'`` record.
    """
    try:
        return _convert(job)
    except (VideoReadError, ConversionError, FileNotFoundError, ValueError, OSError) as err:
        return [ClipRecord(job.path, '', 'failed', str(err))]


def _skipped(job: VideoJob, clip, num_frames: int) -> ClipRecord:
    """The record of a clip a previous run converted."""
    return ClipRecord(job.path, clip.clip_id, 'skipped', 'already converted',
                      _metadata_row(job, clip.clip_id, clip.index * num_frames))


def _convert(job: VideoJob) -> List[ClipRecord]:
    if job.layout not in LAYOUTS or job.short not in SHORT_POLICIES:
        raise ConversionError(f'unknown layout {job.layout!r} or short policy {job.short!r}')
    num_frames = LAYOUTS[job.layout]['num_frames']
    stem = osp.splitext(osp.basename(job.path))[0]
    info = probe_video(job.path)
    if not info.has_audio:
        read_audio_track(job.path, info)  # raises the MissingAudioError that names the file
    times = FrameSampling.benchmark().times(info.duration, job.path)
    spec = ClipSpec(num_frames, 'repeat', 'repeat_last', job.layout)
    clips = plan_clips(len(times), spec, stem)
    records: List[ClipRecord] = []
    if clips[-1].num_real < num_frames and job.short == 'refuse':
        last = clips.pop()
        records.append(ClipRecord(job.path, last.clip_id, 'refused',
                                  f'"{job.path}": clip {last.clip_id} has {last.num_real} of {num_frames} s '
                                  '(shorter than one clip); use --short pad to pad it'))
    todo = [c for c in clips if c.clip_id not in set(job.done)]
    if not todo:  # a resumed run: nothing of this video is decoded again
        return records + [_skipped(job, c, num_frames) for c in clips]
    # masks are checked before anything is written, so a mismatch leaves no half-written clip
    masks = _read_masks(job, len(times), info.height, info.width) if job.mask_dir else None
    samples, rate = read_audio_track(job.path, info)
    mono = to_mono_16k(samples, rate)
    # frame of second k (k counted over the clips): shown at k + 15/16 s, clamped to the last frame
    all_times = [(c.index * num_frames + j + FrameSampling.benchmark().phase) for c in todo for j in range(num_frames)]
    decoded = [frame for _, frame in frames_at(job.path, all_times, info)]
    for c in clips:
        start = c.index * num_frames
        if c.clip_id in set(job.done):
            records.append(_skipped(job, c, num_frames))
            continue
        k = todo.index(c)
        paths = clip_paths(job, c.clip_id, num_frames, masks is not None)
        for j, path in enumerate(paths['frames']):
            write_rgb(path, _resize(decoded[k * num_frames + j], job.size, nearest=False))
        for j, path in enumerate(paths['masks']):
            mask = masks[min(start + j, len(masks) - 1)]
            mask = _resize(mask, job.size, nearest=True)
            if mask.ndim == 3:
                write_rgb(path, mask)
            else:  # grey values kept as given (the dataset's binarize rule decides)
                os.makedirs(osp.dirname(path), exist_ok=True)
                Image.fromarray(mask, mode='L').save(path, format='PNG')
        segment = mono[start * VGGISH_SAMPLE_RATE:(start + num_frames) * VGGISH_SAMPLE_RATE]
        if segment.shape[0] == 0:
            raise ConversionError(f'the audio track of "{job.path}" ends before clip {c.clip_id}')
        written = write_wav(paths['wav'][0], segment, VGGISH_SAMPLE_RATE)
        if paths['pkl']:
            examples = waveform_to_examples(written, VGGISH_SAMPLE_RATE)[:, None]
            fitted = fit_examples_to_frames(examples, num_frames, 'repeat_last', paths['wav'][0])
            dump_tensor_pickle(paths['pkl'][0], torch.from_numpy(fitted))
        files = [p for group in paths.values() for p in group]
        records.append(ClipRecord(job.path, c.clip_id, 'written', '', _metadata_row(job, c.clip_id, start), files))
    return records


def write_metadata(out: str, layout: str, rows: Sequence[Sequence[str]],
                   label2idx: Optional[Dict[str, int]] = None) -> Tuple[str, ...]:
    """Write the metadata csv of ``layout`` (rows sorted) and, for AVSS, ``label2idx.json``.

    Returns:
        tuple[str, ...]: The files written.
    """
    spec = LAYOUTS[layout]
    csv_path = osp.join(out, spec['csv'])
    key = 1 if layout == 'avss' else 0
    write_csv(csv_path, spec['header'], sorted((list(r) for r in rows), key=lambda r: (r[key], r)))
    if layout != 'avss':
        return (csv_path, )
    json_path = osp.join(out, 'label2idx.json')
    write_json(json_path, label2idx or {'background': 0, 'sounding object': 1})
    return csv_path, json_path
