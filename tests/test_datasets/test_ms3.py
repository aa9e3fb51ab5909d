"""Tests of MS3Dataset on the generated MS3 fixture (official layout), checked against the files on disk."""
import csv
import os
import os.path as osp
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from mmavs.datasets import MS3Dataset


def _ms3_dir(root) -> str:
    """The fixture is the ``Multi-sources`` folder (holding ``ms3_meta_data.csv``)."""
    assert osp.isfile(osp.join(str(root), 'ms3_meta_data.csv'))
    return str(root)


def _disk_vids(ms3_dir, split):
    """Clip ids of a split = folders of gt_masks/{split} (frames have no split folder)."""
    return set(os.listdir(osp.join(ms3_dir, 'ms3_data', 'gt_masks', split)))


@pytest.fixture
def ms3_copy(ms3_root, tmp_path):
    dst = tmp_path / 'Multi-sources'
    shutil.copytree(_ms3_dir(ms3_root), dst)
    return str(dst)


@pytest.mark.parametrize('split', ['train', 'val', 'test'])
def test_clips_and_paths_match_disk(ms3_root, split):
    ms3_dir = _ms3_dir(ms3_root)
    ds = MS3Dataset(data_root=ms3_dir, split=split)
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert len(infos) > 0 and {i['vid'] for i in infos} == _disk_vids(ms3_dir, split)
    for info in infos:
        vid = info['vid']
        frame_dir = osp.join(ms3_dir, 'ms3_data', 'visual_frames', vid)  # no split folder
        assert sorted(info['frame_paths']) == sorted(
            osp.join(frame_dir, n) for n in os.listdir(frame_dir))
        assert [osp.basename(p)
                for p in info['frame_paths']] == [f'{vid}.mp4_{i}.png' for i in range(1, 6)]
        mask_dir = osp.join(ms3_dir, 'ms3_data', 'gt_masks', split, vid)
        assert sorted(info['mask_paths']) == sorted(
            osp.join(mask_dir, n) for n in os.listdir(mask_dir))
        assert [osp.basename(p)
                for p in info['mask_paths']] == [f'{vid}_{i}.png' for i in range(1, 6)]
        assert info['gt_flags'] == [True] * 5 and info['frame_flags'] == [True] * 5  # all annotated
        assert info['num_frames'] == 5 and info['subset'] == 'ms3' and info['num_classes'] == 1
        assert info['audio_wav_path'] == osp.join(ms3_dir, 'ms3_data', 'audio_wav', split,
                                                  f'{vid}.wav')
        assert info['audio_pkl_path'] == osp.join(ms3_dir, 'ms3_data', 'audio_log_mel', split,
                                                  f'{vid}.pkl')
        assert 'category' not in info and info['audio_source'] == vid


def test_csv_order_is_kept(ms3_root):
    ms3_dir = _ms3_dir(ms3_root)
    with open(osp.join(ms3_dir, 'ms3_meta_data.csv')) as f:
        rows = list(csv.DictReader(f))
    ds = MS3Dataset(data_root=ms3_dir, split='train')
    assert [ds.get_data_info(i)['vid'] for i in range(len(ds))] == \
        [r[next(iter(r))] for r in rows if r['split'] == 'train']


def test_end_to_end_with_palette_png_masks(ms3_root):
    ms3_dir = _ms3_dir(ms3_root)
    pipeline = [
        dict(type='LoadClipFrames'),
        dict(type='LoadClipMasks', mode='binary'),
        dict(type='LoadClipAudio', source='wav'),
        dict(type='ClipRandomFlip', prob=1.0),
        dict(type='PackAVSInputs'),
    ]
    ds = MS3Dataset(data_root=ms3_dir, split='test', pipeline=pipeline, test_mode=True)
    out, info = ds[0], ds.get_data_info(0)
    sample = out['data_samples']
    for t, path in enumerate(info['mask_paths']):
        img = Image.open(path)
        truth = np.asarray(img) > 0  # explicit binarisation of the stored values (indices for 'P')
        np.testing.assert_array_equal(sample.gt_masks[t].numpy(), truth[:, ::-1].astype(np.int64))
    assert out['inputs']['frames'].shape[0] == 5 and out['inputs']['audio'].shape == (5, 1, 96, 64)
    assert out['inputs']['audio'].dtype == torch.float32
    assert sample.metainfo['flip'] is True and sample.metainfo['subset'] == 'ms3'
    assert sample.gt_flags.all() and sample.frame_flags.all()


def test_missing_frame_and_mask_name_clip_and_file(ms3_copy):
    vid = sorted(_disk_vids(ms3_copy, 'test'))[0]
    frame = osp.join(ms3_copy, 'ms3_data', 'visual_frames', vid, f'{vid}.mp4_5.png')
    os.remove(frame)
    with pytest.raises(FileNotFoundError) as err:
        MS3Dataset(data_root=ms3_copy, split='test')
    assert vid in str(err.value) and frame in str(err.value)
    MS3Dataset(data_root=ms3_copy, split='val')  # other splits are unaffected
    vid = sorted(_disk_vids(ms3_copy, 'val'))[0]
    mask = osp.join(ms3_copy, 'ms3_data', 'gt_masks', 'val', vid, f'{vid}_2.png')
    os.remove(mask)
    with pytest.raises(FileNotFoundError) as err:
        MS3Dataset(data_root=ms3_copy, split='val')
    assert vid in str(err.value) and mask in str(err.value)


def test_missing_root_and_csv(tmp_path, ms3_copy):
    with pytest.raises(FileNotFoundError, match='docs/dataset_prepare.md'):
        MS3Dataset(data_root=str(tmp_path / 'absent'), split='val')
    os.remove(osp.join(ms3_copy, 'ms3_meta_data.csv'))
    with pytest.raises(FileNotFoundError, match='ms3_meta_data.csv'):
        MS3Dataset(data_root=ms3_copy, split='val')


def test_audio_shuffle_val(ms3_root):
    ms3_dir = _ms3_dir(ms3_root)
    plain = MS3Dataset(data_root=ms3_dir, split='val')
    own = {
        plain.get_data_info(i)['vid']: plain.get_data_info(i)['audio_wav_path']
        for i in range(len(plain))
    }
    ds = MS3Dataset(data_root=ms3_dir, split='val', audio_shuffle_seed=0)
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        assert info['audio_source'] != info['vid']
        assert info['audio_wav_path'] == own[info['audio_source']] != own[info['vid']]


def test_custom_data_prefix_and_unknown_key(ms3_copy, tmp_path):
    moved = tmp_path / 'frames_elsewhere'
    shutil.move(osp.join(ms3_copy, 'ms3_data', 'visual_frames'), moved)
    with pytest.raises(FileNotFoundError):
        MS3Dataset(data_root=ms3_copy, split='train')
    ds = MS3Dataset(data_root=ms3_copy, split='train', data_prefix=dict(frame=str(moved)))
    assert ds.get_data_info(0)['frame_paths'][0].startswith(str(moved))
    with pytest.raises(KeyError, match='frames'):
        MS3Dataset(data_root=ms3_copy, split='train', data_prefix=dict(frames='x'))


@pytest.mark.parametrize('value', ['Test', 'testing', 'Val'])
def test_unknown_split_value_in_csv_names_file_line_and_value(ms3_copy, value):
    csv_path = osp.join(ms3_copy, 'ms3_meta_data.csv')
    with open(csv_path, newline='') as f:
        rows = list(csv.reader(f))
    col = rows[0].index('split')
    row_index = [r[col] for r in rows[1:]].index('val')
    rows[1 + row_index][col] = value
    with open(csv_path, 'w', newline='') as f:
        csv.writer(f).writerows(rows)
    with pytest.raises(ValueError) as err:
        MS3Dataset(data_root=ms3_copy, split='train')
    msg = str(err.value)
    assert csv_path in msg and f'line {2 + row_index}:' in msg and repr(value) in msg
    assert "('train', 'val', 'test')" in msg
