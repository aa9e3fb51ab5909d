"""Tests of the generated AVSBench data (mmavs.datasets.synthetic).

Everything written is read back with plain PIL / csv / json / pickle / soundfile (never with the mmavs
dataset readers) and checked against the official layouts and against independent oracles: object pixels
are found by their exact colours inside the boxes the manifest reports, silence by the RMS of the wav.
Captions are checked to be visual-only: they match what the manifest says is drawn and stay the same
when other objects sound.
"""
import csv
import dataclasses
import filecmp
import glob
import importlib.util
import json
import math
import os
import os.path as osp
import pickle
import re
import sys
from fractions import Fraction

import numpy as np
import pytest
import soundfile as sf
import torch
from PIL import Image

import mmavs.datasets.synthetic.generator as generator_module
from mmavs.audio import load_log_mel, waveform_to_examples
from mmavs.datasets.synthetic import (
    AVSS_CLASSES,
    S4_CATEGORIES,
    avss_palette,
    avss_styles,
    clip_captions,
    dump_tensor_pickle,
    generate_avsbench,
    s4_styles,
    segment_window,
    segment_windows,
    synthesize_sound,
)
from mmavs.datasets.synthetic.categories import COLOURS, SHAPES
from mmavs.datasets.synthetic.drawing import object_sprite
from mmavs.datasets.synthetic.scenes import ClipScene, ObjectTrack, sample_scene

SR = 16000
# RMS of one second: a sounding source has RMS 0.1 (two: ~0.14), the noise floor ~3e-4.
SILENT_RMS = 0.003
SOUNDING_RMS = 0.05


def _files_under(root):
    return {
        osp.relpath(p, root)
        for p in glob.glob(osp.join(root, '**', '*'), recursive=True) if osp.isfile(p)
    }


def _read_csv(path):
    with open(path, newline='') as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def _second_rms(wav_path):
    data, sr = sf.read(wav_path, dtype='float64', always_2d=True)
    assert sr == SR
    mono = data.mean(axis=1)
    return np.sqrt((mono.reshape(-1, SR)**2).mean(axis=1))


def _shade(rgb):
    return tuple(int(c) for c in np.round(np.asarray(rgb, dtype=np.float64) * 0.45))


def _object_pixels(frame, obj, t, tolerance=0):
    """Pixels inside the object's box (from the manifest) whose colour is its colour or shade."""
    x, y = obj['positions'][t]
    size = obj['size']
    found = np.zeros(frame.shape[:2], dtype=bool)
    box = frame[y:y + size, x:x + size].astype(np.int64)
    hit = np.zeros(box.shape[:2], dtype=bool)
    for colour in (obj['rgb'], _shade(obj['rgb'])):
        hit |= np.abs(box - np.asarray(colour)).max(axis=-1) <= tolerance
    found[y:y + size, x:x + size] = hit
    return found


def _binary_gt(path):
    img = Image.open(path)
    values = np.asarray(img)
    assert set(np.unique(values)) <= {0, 255}, f'{path}: values {np.unique(values)}'
    return values > 0


# ------------------------------------------------------------------------------------------------
# Layouts
# ------------------------------------------------------------------------------------------------
def test_s4_layout_is_exactly_the_official_one(s4_root):
    header, rows = _read_csv(osp.join(s4_root, 's4_meta_data.csv'))
    assert header == ['name', 'start', 'category', 'split']
    assert [r[3] for r in rows].count('train') == 4 and len(rows) == 8
    expected = {'s4_meta_data.csv', 's4_captions.json'}
    for name, start, category, split in rows:
        assert category in S4_CATEGORIES and 0 <= int(start) <= 5
        for i in range(1, 6):
            expected.add(f's4_data/visual_frames/{split}/{category}/{name}/{name}_{i}.png')
        for i in range(1, 2 if split == 'train' else 6):
            expected.add(f's4_data/gt_masks/{split}/{category}/{name}/{name}_{i}.png')
        expected.add(f's4_data/audio_wav/{split}/{category}/{name}.wav')
        expected.add(f's4_data/audio_log_mel/{split}/{category}/{name}.pkl')
    assert _files_under(s4_root) == expected

    name, _, category, split = rows[0]
    frame = Image.open(osp.join(s4_root, 's4_data/visual_frames', split, category, name, f'{name}_3.png'))
    assert frame.mode == 'RGB' and frame.size == (64, 64)
    mask = Image.open(osp.join(s4_root, 's4_data/gt_masks', split, category, name, f'{name}_1.png'))
    assert mask.mode == 'L' and mask.size == (64, 64)
    info = sf.info(osp.join(s4_root, 's4_data/audio_wav', split, category, f'{name}.wav'))
    assert (info.samplerate, info.channels, info.frames, info.subtype) == (SR, 2, 5 * SR, 'PCM_16')
    with open(osp.join(s4_root, 's4_data/audio_log_mel', split, category, f'{name}.pkl'), 'rb') as f:
        log_mel = pickle.load(f)
    assert isinstance(log_mel, torch.Tensor)
    assert log_mel.dtype == torch.float32 and tuple(log_mel.shape) == (5, 1, 96, 64)


def test_ms3_layout_is_exactly_the_official_one(ms3_root):
    header, rows = _read_csv(osp.join(ms3_root, 'ms3_meta_data.csv'))
    assert header == ['video_id', 'split'] and len(rows) == 7
    expected = {'ms3_meta_data.csv', 'ms3_captions.json'}
    for vid, split in rows:
        for i in range(1, 6):
            expected.add(f'ms3_data/visual_frames/{vid}/{vid}.mp4_{i}.png')
            expected.add(f'ms3_data/gt_masks/{split}/{vid}/{vid}_{i}.png')
        expected.add(f'ms3_data/audio_wav/{split}/{vid}.wav')
        expected.add(f'ms3_data/audio_log_mel/{split}/{vid}.pkl')
    assert _files_under(ms3_root) == expected

    vid, split = rows[-1]
    mask = Image.open(osp.join(ms3_root, 'ms3_data/gt_masks', split, vid, f'{vid}_2.png'))
    assert mask.mode == 'P'
    # indices 0/255 over a grey palette: binarising by index, by grey value and with mode '1' agree
    indices = np.asarray(mask)
    assert set(np.unique(indices)) <= {0, 255}
    np.testing.assert_array_equal(np.asarray(mask.convert('L')), indices)
    np.testing.assert_array_equal(np.asarray(mask.convert('1')), indices > 0)
    info = sf.info(osp.join(ms3_root, 'ms3_data/audio_wav', split, f'{vid}.wav'))
    assert (info.samplerate, info.channels, info.frames) == (SR, 2, 5 * SR)


def test_avss_layout_is_exactly_the_official_one(avss_root):
    header, rows = _read_csv(osp.join(avss_root, 'metadata.csv'))
    assert header == ['vid', 'uid', 's_min', 's_sec', 'a_obj', 'split', 'label']
    with open(osp.join(avss_root, 'label2idx.json')) as f:
        label2idx = json.load(f)
    names = list(label2idx)
    assert len(names) == 71 and names[0] == 'background'
    # a few positions of the official label2idx.json
    assert names[1] == 'accordion' and names[17] == 'dog' and names[41] == 'man' and names[70] == 'woman'
    expected = {'metadata.csv', 'label2idx.json', 'captions.json'}
    seen_types = {split: set() for split in ('train', 'val', 'test')}
    for vid, uid, s_min, s_sec, a_obj, split, label in rows:
        assert uid.startswith(vid) and 0 <= int(s_sec) < 60 and int(s_min) >= 0
        assert a_obj and all(name in AVSS_CLASSES[1:] for name in a_obj.split('_'))
        seen_types[split].add(label)
        num = 10 if label == 'v2' else 5
        num_masks = 1 if (label == 'v1s' and split == 'train') else num
        expected |= {f'{label}/{uid}/frames/{i}.jpg' for i in range(num)}
        expected |= {f'{label}/{uid}/labels_rgb/{i}.png' for i in range(num_masks)}
        expected.add(f'{label}/{uid}/audio.wav')
        info = sf.info(osp.join(avss_root, label, uid, 'audio.wav'))
        assert (info.samplerate, info.channels, info.frames) == (SR, 1, num * SR)
        frame = Image.open(osp.join(avss_root, label, uid, 'frames', '0.jpg'))
        assert frame.format == 'JPEG' and frame.height == 64 and frame.width in (85, 114)
        colour_mask = Image.open(osp.join(avss_root, label, uid, 'labels_rgb', '0.png'))
        assert colour_mask.mode == 'RGB' and colour_mask.size == frame.size
    assert all(types == {'v1s', 'v1m', 'v2'} for types in seen_types.values())
    assert _files_under(avss_root) == expected


def test_avss_palette_is_the_voc_palette():
    palette = avss_palette(71)
    # hand-known PASCAL-VOC colours
    known = {
        0: (0, 0, 0),
        1: (128, 0, 0),
        2: (0, 128, 0),
        3: (128, 128, 0),
        4: (0, 0, 128),
        8: (64, 0, 0),
        15: (192, 128, 128),
        20: (0, 64, 128)
    }
    for index, colour in known.items():
        assert tuple(palette[index]) == colour
    assert len({tuple(c) for c in palette}) == 71


# ------------------------------------------------------------------------------------------------
# Ground truth vs pixels vs audio
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize('subset', ['s4', 'ms3'])
def test_binary_gt_is_exactly_the_sounding_objects_pixels(subset, s4_generated, ms3_generated):
    generated = s4_generated if subset == 's4' else ms3_generated
    checked = empty = 0
    for clip in generated['manifest']:
        for t, mask_path in enumerate(clip['paths']['masks']):
            frame = np.asarray(Image.open(clip['paths']['frames'][t]).convert('RGB'))
            expected = np.zeros(frame.shape[:2], dtype=bool)
            for k, obj in enumerate(clip['objects']):
                if clip['sounding'][t][k]:
                    pixels = _object_pixels(frame, obj, t)
                    assert pixels.sum() > 0.2 * obj['size']**2, 'a sounding object must be visible'
                    expected |= pixels
            gt = _binary_gt(mask_path)
            np.testing.assert_array_equal(gt, expected, err_msg=f'{mask_path}')
            checked += 1
            empty += int(not gt.any())
    assert checked > 0 and 0 < empty < checked  # both silent and sounding frames are covered


@pytest.mark.parametrize('subset', ['s4', 'ms3', 'avss'])
def test_gt_is_empty_exactly_when_the_second_is_silent(subset, s4_generated, ms3_generated,
                                                       avss_generated):
    generated = {'s4': s4_generated, 'ms3': ms3_generated, 'avss': avss_generated}[subset]
    silent_seen = sounding_seen = 0
    for clip in generated['manifest']:
        rms = _second_rms(clip['paths']['wav'])
        assert len(rms) == clip['num_frames']
        # every second is either clearly silent or clearly sounding
        assert np.all((rms < SILENT_RMS) | (rms > SOUNDING_RMS)), rms
        for t, mask_path in enumerate(clip['paths']['masks']):
            if subset == 'avss':
                gt_empty = not np.asarray(Image.open(mask_path).convert('RGB')).any()
            else:
                gt_empty = not _binary_gt(mask_path).any()
            assert gt_empty == (rms[t] < SILENT_RMS), f'{mask_path}: rms {rms[t]:.4f}'
            silent_seen += int(gt_empty)
            sounding_seen += int(not gt_empty)
        # the audio of every second matches the sounding flags, with or without ground truth
        np.testing.assert_array_equal(rms > SOUNDING_RMS, np.asarray(clip['sounding']).any(axis=1))
    assert silent_seen > 0 and sounding_seen > 0


def test_avss_colour_masks_hold_the_sounding_classes(avss_generated):
    palette = avss_palette(71)
    colour_to_class = {tuple(c): i for i, c in enumerate(palette)}
    for clip in avss_generated['manifest']:
        for t, mask_path in enumerate(clip['paths']['masks']):
            colours = np.asarray(Image.open(mask_path).convert('RGB'))
            flat = {tuple(c) for c in colours.reshape(-1, 3)}
            assert flat <= set(colour_to_class), f'{mask_path}: colours outside the palette'
            labels = np.zeros(colours.shape[:2], dtype=np.int64)
            for colour in flat:
                labels[(colours == colour).all(axis=-1)] = colour_to_class[colour]
            sounding = {
                obj['class_index']
                for k, obj in enumerate(clip['objects']) if clip['sounding'][t][k]
            }
            assert set(np.unique(labels)) - {0} == sounding
            for k, obj in enumerate(clip['objects']):
                x, y = obj['positions'][t]
                inside = np.zeros_like(labels, dtype=bool)
                inside[y:y + obj['size'], x:x + obj['size']] = True
                if clip['sounding'][t][k]:
                    assert AVSS_CLASSES[obj['class_index']] == obj['category']
                    # the class's pixels all lie in the object's box and cover a good part of it
                    assert not np.any((labels == obj['class_index']) & ~inside)
                    assert (labels == obj['class_index']).sum() > 0.2 * obj['size']**2


@pytest.mark.parametrize('subset', ['s4', 'ms3', 'avss'])
def test_every_frame_shows_two_distinct_categories(subset, s4_generated, ms3_generated, avss_generated):
    generated = {'s4': s4_generated, 'ms3': ms3_generated, 'avss': avss_generated}[subset]
    tolerance = 40 if subset == 'avss' else 0  # AVSS frames are JPEG
    for clip in generated['manifest']:
        categories = [obj['category'] for obj in clip['objects']]
        assert 2 <= len(categories) <= 3 and len(set(categories)) == len(categories)
        for t, frame_path in enumerate(clip['paths']['frames']):
            frame = np.asarray(Image.open(frame_path).convert('RGB'))
            visible = {
                obj['category']
                for obj in clip['objects'] if _object_pixels(frame, obj, t, tolerance).sum() >= 20
            }
            assert len(visible) >= 2, f'{frame_path}: visible categories {visible}'


def test_objects_move_a_little(s4_generated, ms3_generated):
    steps = []
    for clip in s4_generated['manifest'] + ms3_generated['manifest']:
        for obj in clip['objects']:
            positions = np.asarray(obj['positions'], dtype=np.float64)
            step = np.abs(np.diff(positions, axis=0)).max()
            assert step <= 0.25 * obj['size']
            steps.append(step)
    assert max(steps) > 0


def test_source_counts_per_subset(s4_generated, ms3_generated, avss_generated):
    s4_rows = _read_csv(osp.join(s4_generated['root'], 's4_meta_data.csv'))[1]
    csv_category = {row[0]: row[2] for row in s4_rows}
    for clip in s4_generated['manifest']:
        sounding = np.asarray(clip['sounding'])
        assert sounding.sum(axis=1).max() <= 1  # single source
        heard = {clip['objects'][k]['category'] for k in np.flatnonzero(sounding.any(axis=0))}
        assert heard == {csv_category[clip['vid']]}
    for clip in ms3_generated['manifest']:
        assert np.asarray(clip['sounding']).sum(axis=1).max() <= 2
    for clip in avss_generated['manifest']:
        per_frame = np.asarray(clip['sounding']).sum(axis=1)
        assert per_frame.max() <= (1 if clip['label_type'] == 'v1s' else 2)
        assert len(per_frame) == (10 if clip['label_type'] == 'v2' else 5)


def test_who_sounds_is_random_over_many_scenes():
    styles = s4_styles()
    rng = np.random.default_rng(123)
    main_cells, silent, counts, sounding_slots = [], 0, {1: 0, 2: 0}, np.zeros(3)
    num_frames = 0
    for i in range(300):
        single = sample_scene(rng, f's{i}', 'train', styles, 5, 64, 64, 'single')
        main_cells.append(single.objects[single.main_index].cell)
        multi = sample_scene(rng, f'm{i}', 'train', styles, 5, 64, 64, 'multi', num_objects=3)
        per_frame = multi.sounding.sum(axis=1)
        silent += int((per_frame == 0).sum())
        counts[1] += int((per_frame == 1).sum())
        counts[2] += int((per_frame == 2).sum())
        sounding_slots += multi.sounding.sum(axis=0)
        num_frames += 5
    cell_share = np.array([main_cells.count(c) for c in set(main_cells)]) / len(main_cells)
    assert len(cell_share) == 4 and cell_share.min() > 0.15  # the sounding object can be anywhere
    assert 0.10 < silent / num_frames < 0.20
    assert counts[1] > 0.3 * num_frames and counts[2] > 0.3 * num_frames
    share = sounding_slots / sounding_slots.sum()
    assert share.min() > 0.25  # any visible object may be the one sounding


# ------------------------------------------------------------------------------------------------
# Audio features
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize('subset', ['s4', 'ms3'])
def test_log_mel_pickle_is_the_front_end_of_the_wav(subset, s4_generated, ms3_generated):
    generated = s4_generated if subset == 's4' else ms3_generated
    for clip in generated['manifest']:
        pcm, sr = sf.read(clip['paths']['wav'], dtype='int16', always_2d=True)
        expected = waveform_to_examples(pcm.astype(np.float32) / 32768.0, sr)
        with open(clip['paths']['pkl'], 'rb') as f:
            stored = pickle.load(f)
        assert tuple(stored.shape) == (5, 1, 96, 64) and expected.shape == (5, 96, 64)
        np.testing.assert_allclose(stored[:, 0].numpy(), expected, atol=1e-5, rtol=0)
        np.testing.assert_allclose(load_log_mel(clip['paths']['pkl'])[:, 0], expected, atol=1e-5, rtol=0)


def _mean_spectrum(samples):
    return waveform_to_examples(samples, SR)[0].mean(axis=0)


@pytest.mark.parametrize('vocabulary', ['s4', 'avss'])
def test_category_sounds_are_distinguishable(vocabulary):
    styles = s4_styles() if vocabulary == 's4' else avss_styles()
    first = np.stack([
        _mean_spectrum(0.1 * synthesize_sound(s.sound, SR, np.random.default_rng([1, i])))
        for i, s in enumerate(styles)
    ])
    second = np.stack([
        _mean_spectrum(0.1 * synthesize_sound(s.sound, SR, np.random.default_rng([2, i])))
        for i, s in enumerate(styles)
    ])
    dist = np.linalg.norm(first[:, None] - second[None], axis=-1)  # [C, C] mean log-mel distances
    within = np.diag(dist)
    between = dist[~np.eye(len(styles), dtype=bool)]
    assert np.all(dist.argmin(axis=1) == np.arange(len(styles)))
    assert between.min() > 5 * within.max()


def test_written_seconds_of_a_category_sound_alike(s4_generated):
    """On disk: each single-source second's nearest other second (log-mel) has the same category."""
    features, labels = [], []
    for clip in s4_generated['manifest']:
        data, _ = sf.read(clip['paths']['wav'], dtype='float32', always_2d=True)
        for t, flags in enumerate(clip['sounding']):
            if any(flags):
                k = flags.index(True)
                second = data[t * SR:(t + 1) * SR].mean(axis=1)
                features.append(_mean_spectrum(second))
                labels.append(clip['objects'][k]['category'])
    features, labels = np.stack(features), np.asarray(labels)
    assert len(set(labels)) >= 3 and any((labels == c).sum() >= 6 for c in set(labels))
    dist = np.linalg.norm(features[:, None] - features[None], axis=-1) + np.eye(len(labels)) * 1e9
    assert np.all(labels[dist.argmin(axis=1)] == labels)


# ------------------------------------------------------------------------------------------------
# Looks
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize('vocabulary', ['s4', 'avss'])
def test_category_looks_are_unique_and_survive_downscaling(vocabulary):
    styles = s4_styles() if vocabulary == 's4' else avss_styles()
    assert len({(s.colour_name, s.shape) for s in styles}) == len(styles)
    assert {s.shape
            for s in styles} <= set(SHAPES) and {s.colour_name
                                                 for s in styles} <= {n
                                                                      for n, _ in COLOURS}

    def thumbnail(style, size):
        rgb, mask = object_sprite(style, size)
        img = np.where(mask[..., None], rgb, 128).astype(np.uint8)
        return np.asarray(Image.fromarray(img).resize((12, 12), Image.BILINEAR), dtype=np.float64).ravel()

    small = np.stack([thumbnail(s, 20) for s in styles])  # an object in a 64-pixel frame
    large = np.stack([thumbnail(s, 27) for s in styles])
    dist = np.linalg.norm(small[:, None] - large[None], axis=-1)
    assert np.all(dist.argmin(axis=1) == np.arange(len(styles)))


# ------------------------------------------------------------------------------------------------
# Captions
# ------------------------------------------------------------------------------------------------
#: Words no caption may contain: the captions are visual-only, like a captioner's that never hears.
_AUDIO_WORDS = re.compile(
    r'\b(silent|silence|sounding|sounds?|heard|hears?|hearing|noise|noisy|quiet|audible|loud|louder|'
    r'making|audio|voice|listen\w*)\b')
#: 3x3 position phrases of the captions (row, col), the spec of :mod:`.caption_text`.
_REGION = {
    (0, 0): 'at the top left',
    (0, 1): 'at the top',
    (0, 2): 'at the top right',
    (1, 0): 'on the left',
    (1, 1): 'in the centre',
    (1, 2): 'on the right',
    (2, 0): 'at the bottom left',
    (2, 1): 'at the bottom',
    (2, 2): 'at the bottom right',
}
_QUARTER = {(0, 0): 'top left', (0, 1): 'top right', (1, 0): 'bottom left', (1, 1): 'bottom right'}
_CAPTION_FILES = {'s4': 's4_captions.json', 'ms3': 'ms3_captions.json', 'avss': 'captions.json'}
_PADDED_FRAMES = {'s4': 5, 'ms3': 5, 'avss': 10}


def _band(centre, extent):
    """Third of ``[0, extent)`` holding ``centre`` (a centre on a third line is in the middle band)."""
    return 0 if centre < Fraction(extent, 3) else (2 if centre > Fraction(2 * extent, 3) else 1)


def _region_oracle(clip, obj, frames):
    """Expected position phrase of an object's mean box centre over ``frames`` (exact fractions)."""
    half = Fraction(obj['size'], 2)
    cx = sum(obj['positions'][t][0] + half for t in frames) / len(frames)
    cy = sum(obj['positions'][t][1] + half for t in frames) / len(frames)
    return _REGION[(_band(cy, clip['height']), _band(cx, clip['width']))]


def _look(obj):
    """``'red striped circle'`` from the manifest (a plain texture is not said)."""
    texture = '' if obj['texture'] == 'plain' else obj['texture'] + ' '
    return f"{obj['colour']} {texture}{obj['shape']}"


def _load_captions(subset, generated):
    with open(osp.join(generated['root'], _CAPTION_FILES[subset])) as f:
        captions = json.load(f)
    ids = [clip['uid'] if subset == 'avss' else clip['vid'] for clip in generated['manifest']]
    return captions, ids


def _assert_no_audio_words(text, sound_verbs):
    assert not _AUDIO_WORDS.search(text), text
    for verb in sound_verbs:
        assert not re.search(rf'\b{re.escape(verb)}\b', text), (verb, text)


def _scene_from_manifest(clip, styles, sounding=None):
    """Rebuild the clip's scene from what the manifest says was drawn (optionally other sounding)."""
    objects = [
        ObjectTrack(
            style=styles[obj['category']],
            cell=tuple(obj['cell']),
            size=obj['size'],
            positions=[tuple(p) for p in obj['positions']]) for obj in clip['objects']
    ]
    flags = np.asarray(clip['sounding'] if sounding is None else sounding, dtype=bool)
    return ClipScene(
        vid=clip['vid'], split=clip['split'], height=clip['height'], width=clip['width'], objects=objects,
        sounding=flags)


def test_segment_windows_hand_cases():
    # segment_window(padded_frames, subset): deprecated alias of
    # mmavs.datasets.caption_windows.default_segment_window(subset, num_frames)
    with pytest.deprecated_call():
        assert segment_window(5, 's4') == 3 and segment_window(5, 'ms3') == 3 and segment_window(10,
                                                                                             'avss') == 3
    assert segment_windows(5, 3) == [(0, 3), (3, 5)]
    assert segment_windows(10, 3) == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert segment_windows(4, 2) == [(0, 2), (2, 4)]


@pytest.mark.parametrize('subset', ['s4', 'ms3', 'avss'])
def test_captions_describe_only_what_is_seen(subset, s4_generated, ms3_generated, avss_generated):
    generated = {'s4': s4_generated, 'ms3': ms3_generated, 'avss': avss_generated}[subset]
    vocabulary = avss_styles() if subset == 'avss' else s4_styles()
    styles = {s.name: s for s in vocabulary}
    sound_verbs = {s.verb for s in vocabulary}
    captions, ids = _load_captions(subset, generated)
    assert sorted(captions) == sorted(ids)
    moving_segments = still_segments = 0
    for clip, clip_id in zip(generated['manifest'], ids):
        entry = captions[clip_id]
        assert set(entry) == {'video', 'segments', 'frames'}
        num = clip['num_frames']
        assert len(entry['frames']) == num and len(entry['segments']) == math.ceil(num / 3)
        texts = [entry['video']] + entry['segments'] + entry['frames']
        for text in texts:
            _assert_no_audio_words(text, sound_verbs)
            assert text.count('(') == len(clip['objects'])  # every object once, nothing else
        described = []
        for obj in clip['objects']:
            noun = styles[obj['category']].noun
            if subset == 'avss':
                assert noun == obj['category'].replace('-', ' ')  # the class name in plain words
            described.append((obj, f'{noun} ({_look(obj)})'))
        for t, text in enumerate(entry['frames']):
            for obj, phrase in described:
                expected = f'{phrase} {_region_oracle(clip, obj, [t])}'
                assert re.search(re.escape(expected) + r'(,| and |\.$)', text), (expected, text)
        for s, text in enumerate(entry['segments']):
            frames = list(range(3 * s, min(3 * s + 3, num)))
            if len(frames) > 1:
                head = f'Frames {frames[0] + 1}-{frames[-1] + 1}: '
            else:
                head = f'Frame {frames[0] + 1}: '
            assert text.startswith(head), text
            for obj, phrase in described:
                expected = f'{phrase} {_region_oracle(clip, obj, frames)}'
                assert re.search(re.escape(expected) + r'(,|;|\.$)', text), (expected, text)
                if len(frames) > 1:
                    shift = np.subtract(obj['positions'][frames[-1]], obj['positions'][frames[0]])
                    still = np.abs(shift).max() < 0.1 * obj['size']
                    assert (f'{expected}, staying in place' in text) == still, (expected, text)
                    moving_segments += int(not still)
                    still_segments += int(still)
        for obj, phrase in described:
            assert f"{phrase} in the {_QUARTER[tuple(obj['cell'])]}" in entry['video'], entry['video']
    assert moving_segments > 0 and still_segments > 0


@pytest.mark.parametrize('subset', ['s4', 'ms3', 'avss'])
def test_captions_do_not_change_when_other_objects_sound(subset, s4_generated, ms3_generated,
                                                         avss_generated):
    """The written captions are a function of what is drawn: any other sounding flags give the same."""
    generated = {'s4': s4_generated, 'ms3': ms3_generated, 'avss': avss_generated}[subset]
    styles = {s.name: s for s in (avss_styles() if subset == 'avss' else s4_styles())}
    captions, ids = _load_captions(subset, generated)
    rng = np.random.default_rng(7)
    for clip, clip_id in zip(generated['manifest'], ids):
        sounding = np.asarray(clip['sounding'], dtype=bool)
        # the rebuilt scene reproduces the file, so it holds everything the captions depend on
        assert clip_captions(_scene_from_manifest(clip, styles), subset,
                             _PADDED_FRAMES[subset]) == captions[clip_id]
        flips = {
            'other object': np.roll(sounding, 1, axis=1),
            'inverted': ~sounding,
            'none': np.zeros_like(sounding),
            'all': np.ones_like(sounding),
            'random': rng.random(sounding.shape) < 0.5,
        }
        for name, flipped in flips.items():
            if name in ('other object', 'inverted'):
                assert not np.array_equal(flipped, sounding)
            scene = _scene_from_manifest(clip, styles, flipped)
            assert clip_captions(scene, subset, _PADDED_FRAMES[subset]) == captions[clip_id], name


@pytest.mark.parametrize('subset', ['s4', 'ms3', 'avss'])
def test_generated_caption_file_is_the_same_when_another_object_sounds(subset, tmp_path, monkeypatch):
    """End to end: regenerate with each scene's sounding object moved to another object."""
    kwargs = dict(subset=subset, num_train=2, num_val=1, num_test=1, size=32, seed=11)
    generate_avsbench(str(tmp_path / 'a'), **kwargs)
    original = generator_module.sample_scene

    def other_object_sounds(*args, **kw):
        scene = original(*args, **kw)
        return dataclasses.replace(scene, sounding=np.roll(scene.sounding, 1, axis=1))

    monkeypatch.setattr(generator_module, 'sample_scene', other_object_sounds)
    generate_avsbench(str(tmp_path / 'b'), **kwargs)
    files = _files_under(str(tmp_path / 'a'))
    name = [f for f in files if osp.basename(f) == _CAPTION_FILES[subset]]
    assert len(name) == 1
    a, b = (tmp_path / 'a' / name[0]).read_bytes(), (tmp_path / 'b' / name[0]).read_bytes()
    assert a == b
    # the flip did take effect: the frames are the same, the ground truth is not
    frames = sorted(f for f in files if f.endswith(('.jpg', '.png')) and ('frames' in f))
    masks = sorted(f for f in files if ('gt_masks' in f or 'labels_rgb' in f))
    assert frames and masks
    assert all(filecmp.cmp(tmp_path / 'a' / f, tmp_path / 'b' / f, shallow=False) for f in frames)
    assert not all(filecmp.cmp(tmp_path / 'a' / f, tmp_path / 'b' / f, shallow=False) for f in masks)


def test_caption_hand_case_positions_motion_and_sounding():
    """A hand-placed clip: the dog drifts right (its centre crosses x = 64/3 in frame 5), the race car
    moves 1 pixel (< 10 % of its size: in place)."""
    styles = {s.name: s for s in s4_styles()}
    dog = ObjectTrack(styles['dog_barking'], (0, 0), 20, [(2, 2), (4, 2), (6, 2), (8, 2), (12, 2)])
    car = ObjectTrack(styles['race_car'], (1, 1), 20, [(40, 40), (40, 40), (40, 39), (40, 40), (40, 39)])
    sounding = np.array([[True, False]] * 4 + [[False, False]])
    scene = ClipScene('v', 'test', 64, 64, [car, dog], sounding)  # list order is not caption order
    captions = clip_captions(scene, 's4', 5)
    dog_text, car_text = 'a dog (green striped diamond)', 'a race car (magenta checkered square)'
    frame = f'Two objects: {dog_text} at the top left and {car_text} at the bottom right.'
    assert captions['frames'][:4] == [frame] * 4
    assert captions['frames'][4] == (f'Two objects: {dog_text} at the top and {car_text} at the bottom '
                                     'right.')
    assert captions['segments'] == [
        f'Frames 1-3: {dog_text} at the top left, moving to the right; {car_text} at the bottom right, '
        'staying in place.',
        f'Frames 4-5: {dog_text} at the top left, moving to the right; {car_text} at the bottom right, '
        'staying in place.',
    ]
    assert captions['video'] == (f'A video of {dog_text} in the top left and {car_text} in the bottom '
                                 'right; the dog moves to the right, the race car stays in place.')
    # the race car sounding instead, or both, or nothing: same captions
    for flags in ([[False, True]] * 5, [[True, True]] * 5, [[False, False]] * 5):
        other = ClipScene('v', 'test', 64, 64, [car, dog], np.array(flags))
        assert clip_captions(other, 's4', 5) == captions
    # a one-frame AVSS segment says no motion; articles follow the sound of the noun
    guitar = ObjectTrack(styles['playing_acoustic_guitar'], (0, 1), 20, [(40, 4)] * 10)
    uke = ObjectTrack(styles['playing_ukulele'], (1, 0), 20, [(4, 40)] * 10)
    long_scene = ClipScene('w', 'test', 64, 64, [guitar, uke], np.zeros((10, 2), dtype=bool))
    long_captions = clip_captions(long_scene, 'avss', 10)
    assert long_captions['segments'][-1].startswith('Frame 10: an acoustic guitar (')
    last_segment = long_captions['segments'][-1]
    assert 'moving' not in last_segment and 'staying' not in last_segment
    assert '; a ukulele (' in long_captions['segments'][-1]
    assert long_captions['video'].endswith('; the objects stay in place.')


def test_audio_visual_captions_add_what_is_heard_hand_case():
    styles = {s.name: s for s in s4_styles()}
    dog = ObjectTrack(styles['dog_barking'], (0, 0), 20, [(2, 2)] * 5)
    car = ObjectTrack(styles['race_car'], (1, 1), 20, [(40, 40)] * 5)
    # frames 1-2: the dog; frame 3: both; frame 4: nothing; frame 5: the car
    sounding = np.array([[False, True], [False, True], [True, True], [False, False], [True, False]])
    scene = ClipScene('v', 'test', 64, 64, [car, dog], sounding)
    visual = clip_captions(scene, 's4', 5)
    av = clip_captions(scene, 's4', 5, mode='audio-visual')
    heard = ['the dog is heard', 'the dog is heard', 'the dog and the race car are heard', 'nothing is heard',
             'the race car is heard']
    assert av['frames'] == [f'{v[:-1]}; {h}.' for v, h in zip(visual['frames'], heard)]
    assert av['segments'] == [f'{visual["segments"][0][:-1]}; the dog and the race car are heard.',
                              f'{visual["segments"][1][:-1]}; the race car is heard.']
    assert av['video'] == f'{visual["video"][:-1]}; the dog and the race car are heard.'
    with pytest.raises(ValueError, match='mode'):
        clip_captions(scene, 's4', 5, mode='audio')


def test_generated_audio_visual_captions_follow_the_sounding_flags(tmp_path):
    kwargs = dict(subset='ms3', num_train=2, num_val=1, num_test=1, size=32, seed=5)
    manifest = generate_avsbench(str(tmp_path / 'av'), caption_mode='audio-visual', **kwargs)
    generate_avsbench(str(tmp_path / 'v'), **kwargs)
    styles = {s.name: s for s in s4_styles()}
    av = json.loads((tmp_path / 'av' / 'Multi-sources' / 'ms3_captions.json').read_text())
    visual = json.loads((tmp_path / 'v' / 'Multi-sources' / 'ms3_captions.json').read_text())
    for clip in manifest:
        vid = clip['vid']
        sounding = np.asarray(clip['sounding'], dtype=bool)
        for t, (a, v) in enumerate(zip(av[vid]['frames'], visual[vid]['frames'])):
            assert a.startswith(v[:-1] + '; ')
            nouns = {styles[o['category']].noun for k, o in enumerate(clip['objects']) if sounding[t, k]}
            if not nouns:
                assert a.endswith('; nothing is heard.')
            for noun in nouns:
                assert f'the {noun}' in a.rsplit(';', 1)[1]
    with pytest.raises(ValueError, match='caption_mode'):
        generate_avsbench(str(tmp_path / 'x'), caption_mode='oracle', **kwargs)


# ------------------------------------------------------------------------------------------------
# Determinism, pickles, errors, CLI
# ------------------------------------------------------------------------------------------------
def _tree_equal(a, b):
    files_a, files_b = _files_under(a), _files_under(b)
    assert files_a == files_b
    return all(filecmp.cmp(osp.join(a, f), osp.join(b, f), shallow=False) for f in files_a)


@pytest.mark.parametrize('subset', ['s4', 'ms3', 'avss'])
def test_same_seed_gives_byte_identical_files_and_other_seeds_differ(subset, tmp_path):
    kwargs = dict(subset=subset, num_train=2, num_val=1, num_test=1, size=32)
    generate_avsbench(str(tmp_path / 'a'), seed=3, **kwargs)
    generate_avsbench(str(tmp_path / 'b'), seed=3, **kwargs)
    generate_avsbench(str(tmp_path / 'c'), seed=4, **kwargs)
    assert _tree_equal(str(tmp_path / 'a'), str(tmp_path / 'b'))
    assert _files_under(str(tmp_path / 'a')) != _files_under(str(tmp_path / 'c'))  # other clip ids


@pytest.mark.parametrize('subset', ['s4', 'ms3', 'avss'])
def test_workers_write_the_same_files(subset, tmp_path):
    kwargs = dict(subset=subset, num_train=5, num_val=1, num_test=2, size=32, seed=1)
    one = generate_avsbench(str(tmp_path / 'one'), **kwargs)
    two = generate_avsbench(str(tmp_path / 'two'), workers=2, **kwargs)
    assert _tree_equal(str(tmp_path / 'one'), str(tmp_path / 'two'))
    assert [m['vid'] for m in one] == [m['vid'] for m in two]  # manifests in the same (csv) order
    with pytest.raises(ValueError, match='workers'):
        generate_avsbench(str(tmp_path / 'x'), workers=0, **kwargs)


def test_dump_tensor_pickle_is_byte_stable_and_loads_as_the_tensor(tmp_path):
    tensor = torch.randn(5, 1, 96, 64)
    dump_tensor_pickle(str(tmp_path / 'a.pkl'), tensor)
    dump_tensor_pickle(str(tmp_path / 'b.pkl'), tensor.clone())  # another storage address
    assert (tmp_path / 'a.pkl').read_bytes() == (tmp_path / 'b.pkl').read_bytes()
    with open(tmp_path / 'a.pkl', 'rb') as f:
        loaded = pickle.load(f)
    assert torch.equal(loaded, tensor) and loaded.dtype == torch.float32
    # same stream as a plain pickle.dump except the storage key (the address -> '0', twice)
    key_len = len(str(tensor.untyped_storage()._cdata))
    assert len(pickle.dumps(tensor)) - len((tmp_path / 'a.pkl').read_bytes()) == 2 * (key_len - 1)


def test_bad_arguments_raise(tmp_path, s4_root):
    with pytest.raises(ValueError, match='subset'):
        generate_avsbench(str(tmp_path), subset='s5')
    with pytest.raises(ValueError, match='Unknown categories'):
        generate_avsbench(str(tmp_path), subset='s4', categories=['dog_barking', 'unicorn', 'helicopter'])
    with pytest.raises(ValueError, match='size'):
        generate_avsbench(str(tmp_path), subset='s4', size=8)
    with pytest.raises(ValueError, match='clip counts'):
        generate_avsbench(str(tmp_path), subset='s4', num_train=0, num_val=0, num_test=0)
    with pytest.raises(FileExistsError, match='Single-source'):
        generate_avsbench(osp.dirname(s4_root), subset='s4')


def test_overwrite_replaces_previous_output(tmp_path):
    generate_avsbench(str(tmp_path), subset='ms3', num_train=3, num_val=1, num_test=1, size=32, seed=1)
    generate_avsbench(
        str(tmp_path), subset='ms3', num_train=1, num_val=1, num_test=1, size=32, seed=2, overwrite=True)
    rows = _read_csv(str(tmp_path / 'Multi-sources' / 'ms3_meta_data.csv'))[1]
    frame_dirs = os.listdir(tmp_path / 'Multi-sources' / 'ms3_data' / 'visual_frames')
    assert sorted(frame_dirs) == sorted(r[0] for r in rows) and len(rows) == 3  # nothing stale is left


def test_restricted_categories(tmp_path):
    chosen = ['dog_barking', 'helicopter', 'playing_piano']
    manifest = generate_avsbench(
        str(tmp_path), subset='s4', num_train=8, num_val=0, num_test=0, size=32, categories=chosen)
    assert {obj['category'] for clip in manifest for obj in clip['objects']} <= set(chosen)
    assert {clip['category'] for clip in manifest} == set(chosen)
    assert {len(clip['objects']) for clip in manifest} == {2, 3}  # also all three in one frame


def test_cli_writes_all_subsets(tmp_path, monkeypatch):
    script = osp.join(
        osp.dirname(__file__), '..', '..', 'tools', 'dataset_converters', 'generate_synthetic_avs.py')
    spec = importlib.util.spec_from_file_location('generate_synthetic_avs', script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / 'synthetic'
    monkeypatch.setattr(sys, 'argv', [
        script, '--subset', 'all', '--out',
        str(out), '--num-train', '1', '--num-val', '1', '--num-test', '1', '--size', '32', '--seed', '5',
        '--manifest-dir',
        str(out / 'manifests')
    ])
    module.main()
    assert len(_read_csv(str(out / 'Single-source' / 's4_meta_data.csv'))[1]) == 3
    assert len(_read_csv(str(out / 'Multi-sources' / 'ms3_meta_data.csv'))[1]) == 3
    assert len(_read_csv(str(out / 'AVSS' / 'metadata.csv'))[1]) == 3
    with open(out / 'manifests' / 'avss_manifest.json') as f:
        assert len(json.load(f)) == 3
