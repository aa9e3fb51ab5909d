"""Tests of AVSSDataset on the generated AVSS fixture (official layout), checked against the files on disk."""
import csv
import json
import os
import os.path as osp
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from mmavs.datasets import AVSSDataset, voc_palette
from mmavs.datasets.synthetic import avss_palette


def _rows(root, split=None):
    with open(osp.join(str(root), 'metadata.csv')) as f:
        rows = list(csv.DictReader(f))
    return [r for r in rows if split is None or r['split'] == split]


def _infos(ds):
    return [ds.get_data_info(i) for i in range(len(ds))]


@pytest.fixture
def avss_copy(avss_root, tmp_path):
    dst = tmp_path / 'avss'
    shutil.copytree(str(avss_root), dst)
    return str(dst)


def _clip_dir(root, info):
    return osp.join(str(root), info['label_type'], info['vid'])


def test_fixture_covers_all_label_types_in_train(avss_root):
    assert {r['label'] for r in _rows(avss_root, 'train')} == {'v1s', 'v1m', 'v2'}


@pytest.mark.parametrize('split', ['train', 'val', 'test'])
def test_clips_paths_flags_match_disk(avss_root, split):
    ds = AVSSDataset(data_root=str(avss_root), split=split)
    infos = _infos(ds)
    rows = _rows(avss_root, split)
    assert [i['vid'] for i in infos] == [r['uid'] for r in rows]  # csv order, uid as vid
    assert [i['label_type'] for i in infos] == [r['label'] for r in rows]
    for info in infos:
        clip = _clip_dir(avss_root, info)
        jpgs = sorted(n for n in os.listdir(osp.join(clip, 'frames')))
        pngs = sorted(n for n in os.listdir(osp.join(clip, 'labels_rgb')))
        n_real = len(jpgs)
        assert n_real == (10 if info['label_type'] == 'v2' else 5)
        assert info['num_frames'] == 10  # padded to max_frames
        assert info['frame_flags'] == [True] * n_real + [False] * (10 - n_real)
        assert info['frame_paths'][:n_real] == [
            osp.join(clip, 'frames', f'{i}.jpg') for i in range(n_real)
        ]
        assert info['frame_paths'][n_real:] == [None] * (10 - n_real)
        if split == 'train' and info['label_type'] == 'v1s':
            # official V2Dataset: gt_temporal_mask_flag = [1, 0, ..., 0] for v1s
            assert pngs == ['0.png']
            assert info['gt_flags'] == [True] + [False] * 9
        else:
            assert len(pngs) == n_real
            assert info['gt_flags'] == info['frame_flags']
        real_masks = [p for p in info['mask_paths'] if p is not None]
        assert sorted(osp.basename(p) for p in real_masks) == pngs
        assert info['audio_wav_path'] == osp.join(clip,
                                                  'audio.wav') and info['audio_pkl_path'] is None
        assert info['num_classes'] == 71 and info['subset'] == 'avss' and info[
            'audio_source'] == info['vid']


def test_classes_from_label2idx_key_order_and_voc_palette(avss_root):
    ds = AVSSDataset(data_root=str(avss_root), split='val')
    with open(osp.join(str(avss_root), 'label2idx.json')) as f:
        names = list(json.load(f))  # json keeps the file's key order
    assert ds.metainfo['classes'] == tuple(names) and len(names) == 71
    assert names[0] == 'background'
    palette = ds.metainfo['palette']
    assert len(palette) == 71 and len({tuple(c) for c in palette}) == 71
    # hand-computed VOC colours and an independent implementation (the generator's)
    assert palette[0] == [0, 0, 0] and palette[1] == [128, 0, 0] and palette[15] == [192, 128, 128]
    assert palette[70] == [32, 128, 128]
    np.testing.assert_array_equal(np.array(voc_palette(71)), avss_palette(71))


def test_label2idx_values_are_ignored_keys_order_counts(avss_copy):
    path = osp.join(avss_copy, 'label2idx.json')
    with open(path) as f:
        names = list(json.load(f))
    # values scrambled on purpose: the official code relies on key order only
    with open(path, 'w') as f:
        json.dump({n: 100 - i for i, n in enumerate(names)}, f)
    ds = AVSSDataset(data_root=avss_copy, split='val')
    assert ds.metainfo['classes'] == tuple(names)


def test_label_types_filter(avss_root):
    only_v2 = _infos(AVSSDataset(data_root=str(avss_root), split='train', label_types=('v2', )))
    expected = [r['uid'] for r in _rows(avss_root, 'train') if r['label'] == 'v2']
    assert [i['vid'] for i in only_v2] == expected and expected
    v1 = _infos(AVSSDataset(data_root=str(avss_root), split='train', label_types=['v1s', 'v1m']))
    assert {i['label_type'] for i in v1} == {'v1s', 'v1m'}
    with pytest.raises(ValueError, match='label_types'):
        AVSSDataset(data_root=str(avss_root), split='train', label_types=('v3', ))


def test_lazy_init_has_classes_before_full_init(avss_root):
    ds = AVSSDataset(data_root=str(avss_root), split='test', lazy_init=True)
    assert len(ds.metainfo['classes']) == 71
    assert len(ds) == len(_rows(avss_root, 'test'))


def _decode_with_generator_palette(path):
    """Independent oracle: match each pixel's colour against the generator's palette."""
    rgb = np.asarray(Image.open(path).convert('RGB'))
    palette = avss_palette(71).astype(np.int64)
    match = np.all(rgb[:, :, None, :] == palette[None, None], axis=-1)  # [H, W, 71]
    assert match.any(-1).all()
    return match.argmax(-1)


@pytest.mark.parametrize('split', ['train', 'val'])
def test_end_to_end_palette_masks_padding_and_audio(avss_root, split):
    if split == 'train':
        geometric = [dict(type='ClipResizeShortSide', short_side=16, backend='pillow')]
    else:
        geometric = [dict(type='ClipResize', scale=16, backend='pillow')]
    pipeline = [
        dict(type='LoadClipFrames'),
        dict(type='LoadClipMasks', mode='palette'),
        dict(type='LoadClipAudio', source='wav', pad_mode='zeros'),
        *geometric,
        dict(type='PackAVSInputs'),
    ]
    ds = AVSSDataset(data_root=str(avss_root), split=split, pipeline=pipeline)
    for idx in range(len(ds)):
        info, out = ds.get_data_info(idx), ds[idx]
        frames, audio, sample = out['inputs']['frames'], out['inputs']['audio'], out['data_samples']
        n_real = sum(info['frame_flags'])
        assert frames.shape == (10, 3, 16, 16) and audio.shape == (10, 1, 96, 64)
        assert (frames[n_real:] == 0).all()  # padded frames stay black
        assert (audio[n_real:] == 0).all()  # AVSS audio is zero-padded (pad_mode='zeros')
        assert sample.gt_masks.shape == (10, 16, 16)
        assert sample.gt_flags.tolist() == info['gt_flags']
        assert sample.frame_flags.tolist() == info['frame_flags']
        assert (sample.gt_masks[~sample.gt_flags] == 255).all()
        for t, path in enumerate(info['mask_paths']):
            if path is None:
                continue
            truth = Image.fromarray(_decode_with_generator_palette(path).astype(np.uint8))
            w, h = truth.size
            if split == 'train':  # official crop_resize_img, written out
                ow, oh = (int(w * 16 / h), 16) if w > h else (16, int(h * 16 / w))
                truth = truth.resize((ow, oh), Image.NEAREST)
                x1, y1 = int(round((ow - 16) / 2.)), int(round((oh - 16) / 2.))
                truth = truth.crop((x1, y1, x1 + 16, y1 + 16))
            else:
                truth = truth.resize((16, 16), Image.NEAREST)
            np.testing.assert_array_equal(sample.gt_masks[t].numpy(), np.asarray(truth))
        meta = sample.metainfo
        assert meta['label_type'] == info['label_type'] and meta['num_classes'] == 71
        assert meta['img_shape'] == (16, 16)
        h, w = np.asarray(Image.open(info['frame_paths'][0])).shape[:2]
        assert meta['ori_shape'] == (h, w)


# ------------------------------------------------------------------------------ bad inputs
def _first(root, split, label):
    return [r['uid'] for r in _rows(root, split) if r['label'] == label][0]


def test_missing_middle_frame_names_clip_and_file(avss_copy):
    uid = _first(avss_copy, 'train', 'v2')
    path = osp.join(avss_copy, 'v2', uid, 'frames', '2.jpg')
    os.remove(path)
    with pytest.raises(FileNotFoundError) as err:
        AVSSDataset(data_root=avss_copy, split='train')
    assert uid in str(err.value) and path in str(err.value)


def test_frame_mask_count_mismatch(avss_copy):
    uid = _first(avss_copy, 'train', 'v2')
    os.remove(osp.join(avss_copy, 'v2', uid, 'frames', '9.jpg'))  # 9 contiguous frames, 10 masks
    with pytest.raises(ValueError) as err:
        AVSSDataset(data_root=avss_copy, split='train')
    assert uid in str(err.value) and 'mismatch' in str(err.value)


def test_missing_mask_names_clip_and_file(avss_copy):
    uid = _first(avss_copy, 'val', 'v1m')
    path = osp.join(avss_copy, 'v1m', uid, 'labels_rgb', '3.png')
    os.remove(path)
    with pytest.raises(FileNotFoundError) as err:
        AVSSDataset(data_root=avss_copy, split='val')
    assert uid in str(err.value) and path in str(err.value)
    uid = _first(avss_copy, 'train', 'v1s')
    path = osp.join(avss_copy, 'v1s', uid, 'labels_rgb', '0.png')
    os.remove(path)
    with pytest.raises(FileNotFoundError) as err:
        AVSSDataset(data_root=avss_copy, split='train')
    assert uid in str(err.value) and path in str(err.value)


def test_v1s_train_extra_masks_are_not_used(avss_copy):
    uid = _first(avss_copy, 'train', 'v1s')
    mask_dir = osp.join(avss_copy, 'v1s', uid, 'labels_rgb')
    for i in range(1, 5):
        shutil.copy(osp.join(mask_dir, '0.png'), osp.join(mask_dir, f'{i}.png'))
    info = [i for i in _infos(AVSSDataset(data_root=avss_copy, split='train'))
            if i['vid'] == uid][0]
    assert info['gt_flags'] == [True] + [False] * 9


def test_oddly_named_and_too_many_frames(avss_copy):
    uid = _first(avss_copy, 'test', 'v1m')
    frames = osp.join(avss_copy, 'v1m', uid, 'frames')
    with pytest.raises(ValueError, match='max_frames'):
        AVSSDataset(data_root=avss_copy, split='test', max_frames=4)
    open(osp.join(frames, '.DS_Store'), 'w').close()  # not a .jpg: ignored
    AVSSDataset(data_root=avss_copy, split='test')
    shutil.copy(osp.join(frames, '0.jpg'), osp.join(frames, '01.jpg'))
    with pytest.raises(ValueError) as err:
        AVSSDataset(data_root=avss_copy, split='test')
    assert '01.jpg' in str(err.value) and uid in str(err.value)


def test_missing_audio_names_clip(avss_copy):
    uid = _first(avss_copy, 'val', 'v1s')
    os.remove(osp.join(avss_copy, 'v1s', uid, 'audio.wav'))
    with pytest.raises(FileNotFoundError, match=uid):
        AVSSDataset(data_root=avss_copy, split='val')


def test_metadata_missing_columns_names_csv_and_columns(avss_copy):
    path = osp.join(avss_copy, 'metadata.csv')
    with open(path) as f:
        rows = list(csv.reader(f))
    keep = [i for i, name in enumerate(rows[0]) if name not in ('label', 'a_obj')]
    with open(path, 'w', newline='') as f:
        csv.writer(f).writerows([[r[i] for i in keep] for r in rows])
    with pytest.raises(ValueError) as err:
        AVSSDataset(data_root=avss_copy, split='train')
    assert 'metadata.csv' in str(err.value) and "'a_obj'" in str(err.value) and "'label'" in str(
        err.value)


def test_unknown_label_value_in_csv(avss_copy):
    path = osp.join(avss_copy, 'metadata.csv')
    with open(path) as f:
        rows = list(csv.DictReader(f))
    rows[0]['label'] = 'v9'
    with open(path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(ValueError, match="'v9'"):
        AVSSDataset(data_root=avss_copy, split='train')


def test_missing_label2idx_and_root(avss_copy, tmp_path):
    os.remove(osp.join(avss_copy, 'label2idx.json'))
    with pytest.raises(FileNotFoundError, match='label2idx.json'):
        AVSSDataset(data_root=avss_copy, split='train')
    with pytest.raises(FileNotFoundError) as err:
        AVSSDataset(data_root=str(tmp_path / 'nope'), split='train')
    assert 'generate_synthetic_avs.py' in str(err.value)
    with pytest.raises(ValueError, match='split'):
        AVSSDataset(data_root=avss_copy, split='testing')


def test_audio_shuffle_across_label_types(avss_root):
    plain = {i['vid']: i for i in _infos(AVSSDataset(data_root=str(avss_root), split='train'))}
    shuffled = _infos(AVSSDataset(data_root=str(avss_root), split='train', audio_shuffle_seed=42))
    assert sorted(i['audio_source'] for i in shuffled) == sorted(plain)
    for info in shuffled:
        assert info['audio_source'] != info['vid']
        assert info['audio_wav_path'] == plain[info['audio_source']]['audio_wav_path']
        assert info['gt_flags'] == plain[info['vid']]['gt_flags']


def test_packed_audio_comes_from_the_donor(avss_root):
    pipeline = [
        dict(type='LoadClipFrames'),
        dict(type='LoadClipAudio', source='wav', pad_mode='zeros'),
        dict(type='PackAVSInputs')
    ]
    plain = AVSSDataset(data_root=str(avss_root), split='val', pipeline=pipeline)
    shuffled = AVSSDataset(
        data_root=str(avss_root), split='val', pipeline=pipeline, audio_shuffle_seed=1)
    by_vid = {plain.get_data_info(i)['vid']: i for i in range(len(plain))}
    out = shuffled[0]
    donor = out['data_samples'].metainfo['audio_source']
    assert donor != out['data_samples'].metainfo['vid']
    donor_audio = plain[by_vid[donor]]['inputs']['audio']
    own_audio = plain[by_vid[out['data_samples'].metainfo['vid']]]['inputs']['audio']
    assert torch.equal(out['inputs']['audio'], donor_audio)
    assert not torch.equal(out['inputs']['audio'], own_audio)


@pytest.mark.parametrize('column,value,accepted', [
    ('split', 'Test', "('train', 'val', 'test')"),
    ('split', 'testing', "('train', 'val', 'test')"),
    ('label', 'V2', "('v1s', 'v1m', 'v2')"),
    ('label', 'v1S', "('v1s', 'v1m', 'v2')"),
])
def test_unknown_filtered_column_value_names_file_line_and_value(avss_copy, column, value,
                                                                 accepted):
    # both filtered columns must reject unknown values, whichever split / label types are loaded
    path = osp.join(avss_copy, 'metadata.csv')
    with open(path, newline='') as f:
        rows = list(csv.DictReader(f))
    row_index = next(i for i, r in enumerate(rows) if r['split'] == 'test' and r['label'] == 'v2')
    rows[row_index][column] = value
    with open(path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(ValueError) as err:
        AVSSDataset(data_root=avss_copy, split='train', label_types=('v1s', ))
    msg = str(err.value)
    assert path in msg and f'line {2 + row_index}:' in msg and repr(value) in msg
    assert column in msg and accepted in msg


@pytest.mark.parametrize('check_files', [True, False])
def test_pkl_reader_on_avss_fails_at_start_up(avss_root, check_files):
    # AVSS has no .pkl log-mels: a pkl pipeline would fail on the first clip, mid-epoch
    from mmavs.datasets.transforms import LoadClipAudio
    with pytest.raises(FileNotFoundError) as err:
        AVSSDataset(
            data_root=str(avss_root),
            split='val',
            check_files=check_files,
            pipeline=[LoadClipAudio(source='pkl')])
    assert 'audio_pkl_path' in str(err.value) and "source='wav'" in str(err.value)


# ------------------------------------------------------------------------------ short v2 training clips
_PIPELINE = [
    dict(type='LoadClipFrames'),
    dict(type='LoadClipMasks', mode='palette'),
    dict(type='LoadClipAudio', source='wav', pad_mode='zeros'),
    dict(type='ClipResize', scale=16),
    dict(type='PackAVSInputs'),
]


def _shorten_v2_train_clip(root, keep=8):
    """Delete the last frames and masks of the first v2 training clip; return its uid."""
    uid = _first(root, 'train', 'v2')
    for t in range(keep, 10):
        os.remove(osp.join(root, 'v2', uid, 'frames', f'{t}.jpg'))
        os.remove(osp.join(root, 'v2', uid, 'labels_rgb', f'{t}.png'))
    path = osp.join(root, 'captions.json')  # captions of the real frames only: 8 frames, windows of 3
    with open(path) as f:
        captions = json.load(f)
    captions[uid]['frames'] = captions[uid]['frames'][:keep]
    captions[uid]['segments'] = captions[uid]['segments'][:-(-keep // 3)]
    with open(path, 'w') as f:
        json.dump(captions, f)
    return uid


def _sample_of(ds, uid):
    index = [ds.get_data_info(i)['vid'] for i in range(len(ds))].index(uid)
    return ds.get_data_info(index), ds[index]


def test_short_v2_train_clip_is_padded_by_default(avss_copy):
    uid = _shorten_v2_train_clip(avss_copy)
    ds = AVSSDataset(data_root=avss_copy, split='train', pipeline=_PIPELINE)
    info, out = _sample_of(ds, uid)
    assert info['frame_flags'] == [True] * 8 + [False] * 2 == info['gt_flags']
    assert 'blank_flags' not in info and 'blank_flags' not in out['data_samples']
    assert (out['data_samples'].gt_masks[8:] == 255).all()


def test_short_v2_train_clip_legacy_trains_blank_frames_as_background(avss_copy):
    from mmengine.dataset import pseudo_collate

    from mmavs.models.data_preprocessors import AVSDataPreprocessor
    uid = _shorten_v2_train_clip(avss_copy)
    ds = AVSSDataset(data_root=avss_copy, split='train', pipeline=_PIPELINE, short_v2_train='legacy',
                     with_text=True)
    info, out = _sample_of(ds, uid)
    assert info['frame_flags'] == [True] * 10 == info['gt_flags']  # the official V2Dataset: all ones
    assert info['blank_flags'] == [False] * 8 + [True] * 2
    assert info['frame_paths'][8:] == [None, None] and info['mask_paths'][8:] == [None, None]
    sample = out['data_samples']
    assert sample.blank_flags.tolist() == info['blank_flags']
    assert (sample.gt_masks[8:] == 0).all()  # background, trained on
    assert (sample.gt_masks[:8] > 0).any()  # the real masks are read (the fixture has sounding objects)
    assert len(sample.metainfo['captions']['frames']) == 8  # captions describe the frames with an image
    assert sample.metainfo['captions']['frame_segment'] == [0, 0, 0, 1, 1, 1, 2, 2, -1, -1]
    # after normalisation a blank frame is exactly 0 (the official zeros_like of the normalised frame)
    batch = AVSDataPreprocessor()(pseudo_collate([out]))
    frames = batch['inputs']['frames'][0]
    assert (frames[8:] == 0).all() and (frames[:8] != 0).any(dim=(1, 2, 3)).all()
    # the other clips and the other splits are as with the default
    default = AVSSDataset(data_root=avss_copy, split='train', with_text=True)
    others = [(a, b) for a, b in zip(_infos(ds), _infos(default)) if a['vid'] != uid]
    assert others and all(a == b for a, b in others)
    assert _infos(AVSSDataset(data_root=avss_copy, split='val', short_v2_train='legacy')) == _infos(
        AVSSDataset(data_root=avss_copy, split='val'))


def test_short_v2_train_legacy_leaves_v1_padding(avss_root):
    ds = AVSSDataset(data_root=str(avss_root), split='train', short_v2_train='legacy')
    v1 = [i for i in _infos(ds) if i['label_type'] != 'v2']
    assert v1 and all('blank_flags' not in i and i['frame_flags'] == [True] * 5 + [False] * 5 for i in v1)


def test_short_v2_train_unknown_value(avss_root):
    with pytest.raises(ValueError, match="short_v2_train.*'official'"):
        AVSSDataset(data_root=str(avss_root), split='train', short_v2_train='official')
