"""Paths and per-clip writers of the three official AVSBench layouts.

S4 (``root/Single-source``)::

    s4_meta_data.csv                                   name,start,category,split
    s4_data/visual_frames/{split}/{category}/{vid}/{vid}_{1..5}.png
    s4_data/gt_masks/{split}/{category}/{vid}/{vid}_{1..5}.png     train: {vid}_1.png only
    s4_data/audio_log_mel/{split}/{category}/{vid}.pkl             pickled torch.float32 [5, 1, 96, 64]
    s4_data/audio_wav/{split}/{category}/{vid}.wav                 16 kHz, 16-bit PCM, stereo
    s4_captions.json

MS3 (``root/Multi-sources``)::

    ms3_meta_data.csv                                  video_id,split
    ms3_data/visual_frames/{vid}/{vid}.mp4_{1..5}.png
    ms3_data/gt_masks/{split}/{vid}/{vid}_{1..5}.png
    ms3_data/audio_log_mel/{split}/{vid}.pkl
    ms3_data/audio_wav/{split}/{vid}.wav
    ms3_captions.json

AVSS (``root``)::

    metadata.csv                                       vid,uid,s_min,s_sec,a_obj,split,label
    label2idx.json                                     {"background": 1, "accordion": 2, ...} (71 keys)
    {label}/{uid}/frames/{0..N-1}.jpg                  N = 5 (v1s, v1m) or 10 (v2)
    {label}/{uid}/audio.wav                            16 kHz, 16-bit PCM, mono, N seconds
    {label}/{uid}/labels_rgb/{0..N-1}.png              RGB, AVSS palette; v1s train: 0.png only
    captions.json

Masks: S4 ground truth is an 8-bit grey PNG (mode ``'L'``) with 0 / 255; MS3 ground truth is a palette PNG
(mode ``'P'``) whose indices are 0 / 255 over a grey palette (both binarise with ``> 0`` and with
PIL ``convert('1')``, as the official loaders do). Foreground = pixels of the objects sounding in that
frame. AVSS colour masks paint each sounding object's pixels with the palette colour of its class index
(position in ``label2idx.json``), everything else black (background).
"""
import os.path as osp
from typing import Dict, List, Optional

import numpy as np
import torch

from mmavs.audio import waveform_to_examples

from .drawing import compose_frame, object_sprite, render_background
from .file_io import dump_tensor_pickle, write_binary_mask, write_rgb, write_wav
from .palette import avss_palette
from .scenes import ClipScene
from .sounds import SAMPLE_RATE, mix_clip_audio

S4_DIRNAME = 'Single-source'
MS3_DIRNAME = 'Multi-sources'
#: Frames per clip of the official layouts.
NUM_FRAMES = {'s4': 5, 'ms3': 5, 'v1s': 5, 'v1m': 5, 'v2': 10}
#: Channels of the written wavs (AVSBench object wavs come out of moviepy as stereo).
WAV_CHANNELS = {'s4': 2, 'ms3': 2, 'avss': 1}


def render_clip(scene: ClipScene, rng: np.random.Generator) -> tuple:
    """Draw all frames of a clip.

    Args:
        scene (ClipScene): The clip.
        rng (np.random.Generator): Random source (background and noise).

    Returns:
        tuple[np.ndarray, np.ndarray]: uint8 RGB frames ``[T, H, W, 3]`` and bool visible-pixel masks of
        the objects ``[T, K, H, W]``.
    """
    background = render_background(rng, scene.height, scene.width)
    frames, masks = [], []
    for t in range(scene.num_frames):
        sprites = [object_sprite(obj.style, obj.size) for obj in scene.objects]
        positions = [obj.positions[t] for obj in scene.objects]
        frame, object_masks = compose_frame(background, sprites, positions, rng)
        frames.append(frame)
        masks.append(np.stack(object_masks))
    return np.stack(frames), np.stack(masks)


def clip_audio(scene: ClipScene, rng: np.random.Generator) -> np.ndarray:
    """Audio of a clip: second ``t`` holds the sounds of the objects sounding in frame ``t``.

    Args:
        scene (ClipScene): The clip.
        rng (np.random.Generator): Random source.

    Returns:
        np.ndarray: float64 ``[T * 16000]`` in [-1, 1].
    """
    return mix_clip_audio([obj.style.sound for obj in scene.objects], scene.sounding, rng, SAMPLE_RATE)


def binary_ground_truth(scene: ClipScene, object_masks: np.ndarray, t: int) -> np.ndarray:
    """Binary ground truth of frame ``t``: union of the visible pixels of the sounding objects.

    Args:
        scene (ClipScene): The clip.
        object_masks (np.ndarray): bool ``[T, K, H, W]``.
        t (int): Frame index.

    Returns:
        np.ndarray: bool ``[H, W]``.
    """
    sounding = scene.sounding[t]
    if not sounding.any():
        return np.zeros(object_masks.shape[2:], dtype=bool)
    return object_masks[t, sounding].any(axis=0)


def class_ground_truth(scene: ClipScene, object_masks: np.ndarray, t: int) -> np.ndarray:
    """Class-index ground truth of frame ``t``: the class index of each sounding object on its pixels.

    Args:
        scene (ClipScene): The clip (its styles' ``index`` are AVSS class indices).
        object_masks (np.ndarray): bool ``[T, K, H, W]``.
        t (int): Frame index.

    Returns:
        np.ndarray: uint8 ``[H, W]``, 0 = background.
    """
    label = np.zeros(object_masks.shape[2:], dtype=np.uint8)
    for k, obj in enumerate(scene.objects):
        if scene.sounding[t, k]:
            label[object_masks[t, k]] = obj.style.index
    return label


def log_mel_tensor(wav: np.ndarray, num_frames: int) -> torch.Tensor:
    """VGGish log-mel examples of a written wav, padded like the AVSBench preprocessing.

    Args:
        wav (np.ndarray): float ``[N]`` or ``[N, C]`` samples as read back from the file, 16 kHz.
        num_frames (int): Examples wanted (5); missing ones repeat the last example.

    Returns:
        torch.Tensor: float32 ``[num_frames, 1, 96, 64]``.
    """
    examples = waveform_to_examples(wav, SAMPLE_RATE)
    if examples.shape[0] == 0:
        raise ValueError('log_mel_tensor: the waveform is too short for one VGGish example.')
    if examples.shape[0] < num_frames:
        pad = np.repeat(examples[-1:], num_frames - examples.shape[0], axis=0)
        examples = np.concatenate([examples, pad])
    return torch.from_numpy(np.ascontiguousarray(examples[:num_frames]))[:, None].float()


def _write_audio(wav_path: str, pkl_path: Optional[str], audio: np.ndarray, channels: int,
                 num_frames: int) -> None:
    read_back = write_wav(wav_path, audio, SAMPLE_RATE, channels=channels)
    if pkl_path is not None:
        as_file = read_back if channels == 1 else np.repeat(read_back[:, None], channels, axis=1)
        dump_tensor_pickle(pkl_path, log_mel_tensor(as_file, num_frames))


# --------------------------------------------------------------------------------------------------
# S4
# --------------------------------------------------------------------------------------------------
def s4_paths(root: str, split: str, category: str, vid: str) -> Dict[str, object]:
    """Paths of one S4 clip under ``root`` (the directory holding ``Single-source``).

    Returns:
        dict: ``frames`` / ``masks`` (lists of 5 paths), ``wav``, ``pkl``.
    """
    base = osp.join(root, S4_DIRNAME, 's4_data')
    frame_dir = osp.join(base, 'visual_frames', split, category, vid)
    mask_dir = osp.join(base, 'gt_masks', split, category, vid)
    return {
        'frames': [osp.join(frame_dir, f'{vid}_{i}.png') for i in range(1, 6)],
        'masks': [osp.join(mask_dir, f'{vid}_{i}.png') for i in range(1, 6)],
        'wav': osp.join(base, 'audio_wav', split, category, f'{vid}.wav'),
        'pkl': osp.join(base, 'audio_log_mel', split, category, f'{vid}.pkl'),
    }


def write_s4_clip(root: str, scene: ClipScene, category: str,
                  rng: np.random.Generator) -> Dict[str, object]:
    """Write one S4 clip (frames, masks, wav, log-mel pickle).

    Args:
        root (str): Directory holding ``Single-source``.
        scene (ClipScene): The clip (5 frames, ``'single'`` mode).
        category (str): Its category (the main object's).
        rng (np.random.Generator): Random source for drawing and sound.

    Returns:
        dict: The clip's paths (see :func:`s4_paths`), ``masks`` holding only the written ones.
    """
    paths = s4_paths(root, scene.split, category, scene.vid)
    frames, object_masks = render_clip(scene, rng)
    num_masks = 1 if scene.split == 'train' else scene.num_frames
    for t in range(scene.num_frames):
        write_rgb(paths['frames'][t], frames[t])
        if t < num_masks:
            write_binary_mask(paths['masks'][t], binary_ground_truth(scene, object_masks, t), mode='L')
    _write_audio(paths['wav'], paths['pkl'], clip_audio(scene, rng), WAV_CHANNELS['s4'], scene.num_frames)
    paths['masks'] = paths['masks'][:num_masks]
    return paths


# --------------------------------------------------------------------------------------------------
# MS3
# --------------------------------------------------------------------------------------------------
def ms3_paths(root: str, split: str, vid: str) -> Dict[str, object]:
    """Paths of one MS3 clip under ``root`` (the directory holding ``Multi-sources``).

    Returns:
        dict: ``frames`` / ``masks`` (lists of 5 paths), ``wav``, ``pkl``.
    """
    base = osp.join(root, MS3_DIRNAME, 'ms3_data')
    return {
        'frames': [osp.join(base, 'visual_frames', vid, f'{vid}.mp4_{i}.png') for i in range(1, 6)],
        'masks': [osp.join(base, 'gt_masks', split, vid, f'{vid}_{i}.png') for i in range(1, 6)],
        'wav': osp.join(base, 'audio_wav', split, f'{vid}.wav'),
        'pkl': osp.join(base, 'audio_log_mel', split, f'{vid}.pkl'),
    }


def write_ms3_clip(root: str, scene: ClipScene, rng: np.random.Generator) -> Dict[str, object]:
    """Write one MS3 clip (frames, 5 masks, wav, log-mel pickle).

    Args:
        root (str): Directory holding ``Multi-sources``.
        scene (ClipScene): The clip (5 frames, ``'multi'`` mode).
        rng (np.random.Generator): Random source for drawing and sound.

    Returns:
        dict: The clip's paths (see :func:`ms3_paths`).
    """
    paths = ms3_paths(root, scene.split, scene.vid)
    frames, object_masks = render_clip(scene, rng)
    for t in range(scene.num_frames):
        write_rgb(paths['frames'][t], frames[t])
        write_binary_mask(paths['masks'][t], binary_ground_truth(scene, object_masks, t), mode='P')
    _write_audio(paths['wav'], paths['pkl'], clip_audio(scene, rng), WAV_CHANNELS['ms3'],
                 scene.num_frames)
    return paths


# --------------------------------------------------------------------------------------------------
# AVSS
# --------------------------------------------------------------------------------------------------
def avss_paths(root: str, label_type: str, uid: str, num_frames: int) -> Dict[str, object]:
    """Paths of one AVSS clip under ``root`` (the directory holding ``metadata.csv``).

    Returns:
        dict: ``frames`` / ``masks`` (lists of ``num_frames`` paths), ``wav``.
    """
    base = osp.join(root, label_type, uid)
    return {
        'frames': [osp.join(base, 'frames', f'{i}.jpg') for i in range(num_frames)],
        'masks': [osp.join(base, 'labels_rgb', f'{i}.png') for i in range(num_frames)],
        'wav': osp.join(base, 'audio.wav'),
    }


def write_avss_clip(root: str, scene: ClipScene, label_type: str,
                    rng: np.random.Generator) -> Dict[str, object]:
    """Write one AVSS clip (jpg frames, colour masks, wav).

    Args:
        root (str): Directory holding ``metadata.csv``.
        scene (ClipScene): The clip (``scene.vid`` is the uid; styles carry AVSS class indices).
        label_type (str): ``'v1s'``, ``'v1m'`` or ``'v2'``.
        rng (np.random.Generator): Random source for drawing and sound.

    Returns:
        dict: The clip's paths (see :func:`avss_paths`), ``masks`` holding only the written ones.
    """
    paths = avss_paths(root, label_type, scene.vid, scene.num_frames)
    frames, object_masks = render_clip(scene, rng)
    palette = avss_palette()
    num_masks = 1 if (label_type == 'v1s' and scene.split == 'train') else scene.num_frames
    for t in range(scene.num_frames):
        write_rgb(paths['frames'][t], frames[t])
        if t < num_masks:
            write_rgb(paths['masks'][t], palette[class_ground_truth(scene, object_masks, t)])
    _write_audio(paths['wav'], None, clip_audio(scene, rng), WAV_CHANNELS['avss'], scene.num_frames)
    paths['masks'] = paths['masks'][:num_masks]
    return paths


def manifest_entry(scene: ClipScene, subset: str, paths: Dict[str, object],
                   **extra: object) -> Dict[str, object]:
    """JSON-serialisable description of a written clip (what was drawn and what sounds).

    Args:
        scene (ClipScene): The clip.
        subset (str): ``'s4'``, ``'ms3'`` or ``'avss'``.
        paths (dict): Its written paths.
        **extra: More keys (``category``, ``label_type``, ``uid`` ...).

    Returns:
        dict: ``vid, subset, split, num_frames, height, width, objects`` (category, class index, shape,
        colour, texture, size, cell, per-frame top-left positions), ``sounding`` (``[T][K]`` bools),
        ``paths`` and the extras.
    """
    objects: List[Dict[str, object]] = [{
        'category': obj.style.name,
        'class_index': obj.style.index,
        'shape': obj.style.shape,
        'colour': obj.style.colour_name,
        'rgb': list(obj.style.colour),
        'texture': obj.style.texture,
        'size': obj.size,
        'cell': list(obj.cell),
        'positions': [list(p) for p in obj.positions],
    } for obj in scene.objects]
    entry = {
        'vid': scene.vid,
        'subset': subset,
        'split': scene.split,
        'num_frames': scene.num_frames,
        'height': scene.height,
        'width': scene.width,
        'objects': objects,
        'sounding': scene.sounding.tolist(),
        'paths': paths,
    }
    entry.update(extra)
    return entry
