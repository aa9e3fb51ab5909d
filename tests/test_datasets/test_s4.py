"""Tests of S4Dataset on the generated S4 fixture (official layout), checked against the files on disk."""
import csv
import glob
import os
import os.path as osp
import pickle
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from mmavs.datasets import S4Dataset, seeded_derangement
from mmavs.datasets.transforms import (
    ClipRandomFlip,
    ClipResize,
    LoadClipAudio,
    LoadClipFrames,
    LoadClipMasks,
    PackAVSInputs,
)
from mmavs.registry import DATASETS


def _s4_dir(root) -> str:
    """The fixture is the ``Single-source`` folder (holding ``s4_meta_data.csv``)."""
    assert osp.isfile(osp.join(str(root), 's4_meta_data.csv'))
    return str(root)


def _disk_clips(s4_dir, split):
    """(vid, category) of every clip folder under visual_frames/{split}/{category}/{vid}."""
    base = osp.join(s4_dir, 's4_data', 'visual_frames', split)
    return {(osp.basename(d), osp.basename(osp.dirname(d)))
            for d in glob.glob(osp.join(base, '*', '*'))}


@pytest.fixture
def s4_copy(s4_root, tmp_path):
    """A private copy of the S4 fixture that tests may damage."""
    dst = tmp_path / 'Single-source'
    shutil.copytree(_s4_dir(s4_root), dst)
    return str(dst)


@pytest.mark.parametrize('split', ['train', 'val', 'test'])
def test_clips_and_paths_match_disk(s4_root, split):
    s4_dir = _s4_dir(s4_root)
    ds = S4Dataset(data_root=s4_dir, split=split)
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert {(i['vid'], i['category']) for i in infos} == _disk_clips(s4_dir, split)
    assert len(ds) > 0
    for info in infos:
        vid, cat = info['vid'], info['category']
        frame_dir = osp.join(s4_dir, 's4_data', 'visual_frames', split, cat, vid)
        on_disk = sorted(glob.glob(osp.join(frame_dir, '*.png')))
        assert sorted(info['frame_paths']) == on_disk and len(on_disk) == 5
        assert [osp.basename(p)
                for p in info['frame_paths']] == [f'{vid}_{i}.png' for i in range(1, 6)]
        mask_dir = osp.join(s4_dir, 's4_data', 'gt_masks', split, cat, vid)
        masks_on_disk = sorted(os.listdir(mask_dir))
        real_masks = [p for p in info['mask_paths'] if p is not None]
        assert sorted(osp.basename(p) for p in real_masks) == masks_on_disk
        assert all(osp.dirname(p) == mask_dir for p in real_masks)
        if split == 'train':  # official: only frame 1 is annotated in train
            assert masks_on_disk == [f'{vid}_1.png']
            assert info['gt_flags'] == [True, False, False, False, False]
            assert info['mask_paths'][1:] == [None] * 4
        else:
            assert info['gt_flags'] == [True] * 5
        assert info['frame_flags'] == [True] * 5
        assert info['num_frames'] == 5 and info['subset'] == 's4' and info['split'] == split
        assert info['num_classes'] == 1 and info['audio_source'] == vid
        assert info['audio_wav_path'] == osp.join(s4_dir, 's4_data', 'audio_wav', split, cat,
                                                  f'{vid}.wav')
        assert info['audio_pkl_path'] == osp.join(s4_dir, 's4_data', 'audio_log_mel', split, cat,
                                                  f'{vid}.pkl')
        assert osp.isfile(info['audio_wav_path']) and osp.isfile(info['audio_pkl_path'])


def test_metainfo_and_registry(s4_root):
    s4_dir = _s4_dir(s4_root)
    ds = DATASETS.build(dict(type='S4Dataset', data_root=s4_dir, split='val'))
    assert isinstance(ds, S4Dataset)
    meta = ds.metainfo
    assert meta['classes'] == ('background', 'sounding object')
    assert meta['palette'] == [[0, 0, 0], [255, 255, 255]]
    with open(osp.join(s4_dir, 's4_meta_data.csv')) as f:
        rows = list(csv.reader(f))[1:]
    assert meta['categories'] == tuple(sorted({r[2] for r in rows}))
    all_disk = set()
    for split in ('train', 'val', 'test'):
        all_disk |= {c for _, c in _disk_clips(s4_dir, split)}
    assert set(meta['categories']) == all_disk


def test_lazy_init_reads_nothing_until_full_init(s4_copy):
    ds = S4Dataset(data_root=s4_copy, split='train', lazy_init=True)
    os.remove(osp.join(s4_copy, 's4_meta_data.csv'))
    with pytest.raises(FileNotFoundError, match='s4_meta_data.csv'):
        ds.full_init()


def test_end_to_end_pipeline_to_packed_outputs(s4_root):
    s4_dir = _s4_dir(s4_root)
    pipeline = [
        dict(type='LoadClipFrames'),
        dict(type='LoadClipMasks', mode='binary'),
        dict(type='LoadClipAudio', source='pkl'),
        dict(type='ClipResize', scale=(24, 20), backend='pillow'),
        dict(type='ClipRandomFlip', prob=0.0),
        dict(type='PackAVSInputs'),
    ]
    ds = S4Dataset(data_root=s4_dir, split='train', pipeline=pipeline)
    out = ds[0]
    info = ds.get_data_info(0)
    frames, audio = out['inputs']['frames'], out['inputs']['audio']
    assert frames.dtype == torch.uint8 and frames.shape == (5, 3, 20, 24)
    assert audio.dtype == torch.float32 and audio.shape == (5, 1, 96, 64)
    with open(info['audio_pkl_path'], 'rb') as f:
        expected_audio = pickle.load(f)
    np.testing.assert_allclose(audio.numpy(), np.asarray(expected_audio, dtype=np.float32))
    sample = out['data_samples']
    assert sample.gt_masks.shape == (5, 20, 24) and sample.gt_masks.dtype == torch.int64
    assert (sample.gt_masks[1:] == 255).all()  # train: frames 2..5 have no ground truth
    truth = np.asarray(Image.open(info['mask_paths'][0])) > 0
    resized = np.asarray(Image.fromarray(truth.astype(np.uint8)).resize((24, 20), Image.NEAREST))
    np.testing.assert_array_equal(sample.gt_masks[0].numpy(), resized)
    frame = Image.open(info['frame_paths'][0]).convert('RGB').resize((24, 20), Image.BILINEAR)
    np.testing.assert_array_equal(frames[0].permute(1, 2, 0).numpy(), np.asarray(frame))
    assert sample.gt_flags.tolist() == [True, False, False, False, False]
    assert sample.frame_flags.tolist() == [True] * 5
    meta = sample.metainfo
    assert meta['vid'] == info['vid'] and meta['category'] == info['category']
    assert meta['subset'] == 's4' and meta['img_shape'] == (20, 24) and meta['flip'] is False
    h, w = np.asarray(Image.open(info['frame_paths'][0])).shape[:2]
    assert meta['ori_shape'] == (h, w)


def test_val_pipeline_masks_equal_disk_masks(s4_root):
    s4_dir = _s4_dir(s4_root)
    ds = S4Dataset(
        data_root=s4_dir,
        split='val',
        pipeline=[LoadClipFrames(),
                  LoadClipMasks(),
                  LoadClipAudio(source='wav'),
                  PackAVSInputs()])
    for idx in range(len(ds)):
        out, info = ds[idx], ds.get_data_info(idx)
        for t, path in enumerate(info['mask_paths']):
            truth = (np.asarray(Image.open(path)) > 0).astype(np.int64)
            np.testing.assert_array_equal(out['data_samples'].gt_masks[t].numpy(), truth)
            frame = np.asarray(Image.open(info['frame_paths'][t]).convert('RGB'))
            np.testing.assert_array_equal(out['inputs']['frames'][t].permute(1, 2, 0).numpy(),
                                          frame)


# ------------------------------------------------------------------------------ bad inputs
def test_missing_data_root_says_how_to_prepare(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        S4Dataset(data_root=str(tmp_path / 'nowhere'), split='train')
    msg = str(err.value)
    assert 'nowhere' in msg and 'docs/dataset_prepare.md' in msg and 'generate_synthetic_avs.py' in msg


def test_data_root_one_level_too_high_hints_the_right_folder(s4_copy):
    parent = osp.dirname(s4_copy)
    with pytest.raises(FileNotFoundError) as err:
        S4Dataset(data_root=parent, split='train')
    assert osp.join(s4_copy, 's4_meta_data.csv') in str(err.value)


def test_unknown_split_raises(s4_root):
    with pytest.raises(ValueError, match="'training'"):
        S4Dataset(data_root=_s4_dir(s4_root), split='training')


def test_csv_without_split_column_names_csv_and_column(s4_copy):
    csv_path = osp.join(s4_copy, 's4_meta_data.csv')
    with open(csv_path) as f:
        lines = f.read().splitlines()
    header = lines[0].split(',')
    header[3] = 'subset_name'
    lines[0] = ','.join(header)
    with open(csv_path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    with pytest.raises(ValueError) as err:
        S4Dataset(data_root=s4_copy, split='train')
    assert 's4_meta_data.csv' in str(err.value) and "'split'" in str(err.value)


def _first_clip(s4_dir, split):
    vid, cat = sorted(_disk_clips(s4_dir, split))[0]
    return vid, cat


def test_missing_frame_names_clip_and_file(s4_copy):
    vid, cat = _first_clip(s4_copy, 'val')
    path = osp.join(s4_copy, 's4_data', 'visual_frames', 'val', cat, vid, f'{vid}_3.png')
    os.remove(path)
    with pytest.raises(FileNotFoundError) as err:
        S4Dataset(data_root=s4_copy, split='val')
    assert vid in str(err.value) and path in str(err.value)
    # with the check off the dataset builds, and loading the clip names the file
    ds = S4Dataset(data_root=s4_copy, split='val', check_files=False, pipeline=[LoadClipFrames()])
    idx = [ds.get_data_info(i)['vid'] for i in range(len(ds))].index(vid)
    with pytest.raises(FileNotFoundError, match=path):
        ds[idx]


def test_missing_mask_names_clip_and_file(s4_copy):
    vid, cat = _first_clip(s4_copy, 'train')
    path = osp.join(s4_copy, 's4_data', 'gt_masks', 'train', cat, vid, f'{vid}_1.png')
    os.remove(path)
    with pytest.raises(FileNotFoundError) as err:
        S4Dataset(data_root=s4_copy, split='train')
    assert vid in str(err.value) and path in str(err.value)


def test_missing_audio_keeps_the_other_and_fails_without_both(s4_copy):
    vid, cat = _first_clip(s4_copy, 'test')
    wav = osp.join(s4_copy, 's4_data', 'audio_wav', 'test', cat, f'{vid}.wav')
    pkl = osp.join(s4_copy, 's4_data', 'audio_log_mel', 'test', cat, f'{vid}.pkl')
    os.remove(wav)
    ds = S4Dataset(data_root=s4_copy, split='test')
    info = [ds.get_data_info(i) for i in range(len(ds)) if ds.get_data_info(i)['vid'] == vid][0]
    assert info['audio_wav_path'] is None and info['audio_pkl_path'] == pkl
    os.remove(pkl)
    with pytest.raises(FileNotFoundError, match=vid):
        S4Dataset(data_root=s4_copy, split='test')


def test_split_without_clips_raises(s4_copy):
    csv_path = osp.join(s4_copy, 's4_meta_data.csv')
    with open(csv_path) as f:
        lines = f.read().splitlines()
    with open(csv_path, 'w') as f:
        f.write('\n'.join([lines[0]] + [ln for ln in lines[1:] if not ln.endswith(',test')]) + '\n')
    with pytest.raises(ValueError, match="no clip of split 'test'"):
        S4Dataset(data_root=s4_copy, split='test')


# ------------------------------------------------------------------------------ audio shuffling
def test_audio_shuffle_is_a_seeded_derangement(s4_root):
    s4_dir = _s4_dir(s4_root)
    plain = S4Dataset(data_root=s4_dir, split='train')
    originals = {plain.get_data_info(i)['vid']: plain.get_data_info(i) for i in range(len(plain))}
    shuffled = S4Dataset(data_root=s4_dir, split='train', audio_shuffle_seed=3)
    donors = []
    for i in range(len(shuffled)):
        info = shuffled.get_data_info(i)
        donor = info['audio_source']
        assert donor != info['vid'] and donor in originals
        assert info['audio_wav_path'] == originals[donor]['audio_wav_path']
        assert info['audio_pkl_path'] == originals[donor]['audio_pkl_path']
        assert info['frame_paths'] == originals[info['vid']]['frame_paths']  # only audio moves
        donors.append(donor)
    assert sorted(donors) == sorted(originals)  # every clip donates exactly once
    again = S4Dataset(data_root=s4_dir, split='train', audio_shuffle_seed=3)
    assert [again.get_data_info(i)['audio_source'] for i in range(len(again))] == donors
    outcomes = {
        tuple(
            S4Dataset(data_root=s4_dir, split='train', audio_shuffle_seed=s).get_data_info(i)
            ['audio_source'] for i in range(len(plain)))
        for s in range(6)
    }
    assert len(outcomes) > 1  # the seed matters


@pytest.mark.parametrize('num', [2, 3, 7, 50])
def test_seeded_derangement_properties(num):
    perm = seeded_derangement(num, seed=11)
    assert sorted(perm.tolist()) == list(range(num))
    assert all(p != i for i, p in enumerate(perm.tolist()))
    np.testing.assert_array_equal(perm, seeded_derangement(num, seed=11))


def test_seeded_derangement_needs_two():
    with pytest.raises(ValueError, match='at least 2'):
        seeded_derangement(1, seed=0)
    assert seeded_derangement(2, seed=5).tolist() == [1, 0]  # the only derangement of 2


def test_transforms_used_here_are_registered():
    # the pipeline above uses config dicts: make sure those type names resolve to these classes
    from mmavs.registry import TRANSFORMS
    for cls in (LoadClipFrames, LoadClipMasks, LoadClipAudio, ClipResize, ClipRandomFlip,
                PackAVSInputs):
        assert TRANSFORMS.get(cls.__name__) is cls


# ------------------------------------------------------------------------------ split values
def _rewrite_split_of_row(csv_path, row_index, value):
    """Set the split column (by header name) of data row ``row_index``; return its line number."""
    with open(csv_path, newline='') as f:
        rows = list(csv.reader(f))
    col = [name.strip() for name in rows[0]].index('split')
    rows[1 + row_index][col] = value
    with open(csv_path, 'w', newline='') as f:
        csv.writer(f).writerows(rows)
    return 2 + row_index  # header is line 1


@pytest.mark.parametrize('value', ['Test', 'testing', 'TRAIN', 'valid', ''])
@pytest.mark.parametrize('load_split', ['train', 'test'])
def test_unknown_split_value_in_csv_names_file_line_and_value(s4_copy, value, load_split):
    # the official csvs use lowercase 'train' / 'val' / 'test': any other value must not be dropped
    csv_path = osp.join(s4_copy, 's4_meta_data.csv')
    with open(csv_path, newline='') as f:
        data_rows = list(csv.DictReader(f))
    row_index = [r['split'] for r in data_rows].index('test')  # a test clip, whatever split loads
    line = _rewrite_split_of_row(csv_path, row_index, value)
    with pytest.raises(ValueError) as err:
        S4Dataset(data_root=s4_copy, split=load_split)
    msg = str(err.value)
    assert csv_path in msg and f'line {line}:' in msg and repr(value) in msg
    assert "('train', 'val', 'test')" in msg


def test_split_values_with_surrounding_spaces_are_accepted(s4_copy):
    csv_path = osp.join(s4_copy, 's4_meta_data.csv')
    with open(csv_path, newline='') as f:
        data_rows = list(csv.DictReader(f))
    expected = sum(r['split'] == 'test' for r in data_rows)
    _rewrite_split_of_row(csv_path, [r['split'] for r in data_rows].index('test'), ' test ')
    assert len(S4Dataset(data_root=s4_copy, split='test')) == expected


# ------------------------------------------------------------------------------ audio files read by the pipeline
def _audio_files(s4_dir, split, vid, cat):
    return (osp.join(s4_dir, 's4_data', 'audio_wav', split, cat, f'{vid}.wav'),
            osp.join(s4_dir, 's4_data', 'audio_log_mel', split, cat, f'{vid}.pkl'))


@pytest.mark.parametrize('as_dict', [False, True])
def test_missing_pkl_fails_at_start_up_when_the_pipeline_reads_pkl(s4_copy, as_dict):
    vid, cat = _first_clip(s4_copy, 'val')
    wav, pkl = _audio_files(s4_copy, 'val', vid, cat)
    os.remove(pkl)
    assert osp.isfile(wav)  # the wav exists, but the pipeline does not read it
    reader = dict(type='LoadClipAudio', source='pkl') if as_dict else LoadClipAudio(source='pkl')
    with pytest.raises(FileNotFoundError) as err:
        S4Dataset(data_root=s4_copy, split='val', pipeline=[LoadClipFrames(), reader])
    msg = str(err.value)
    assert vid in msg and pkl in msg and 'audio_pkl_path' in msg and "source='pkl'" in msg
    # a wav pipeline does not need the pkl: it builds and loads that clip
    ds = S4Dataset(data_root=s4_copy, split='val', pipeline=[LoadClipAudio(source='wav')])
    idx = [ds.get_data_info(i)['vid'] for i in range(len(ds))].index(vid)
    assert ds.get_data_info(idx)['audio_pkl_path'] is None
    assert ds[idx]['audio'].shape == (5, 1, 96, 64)


def test_missing_wav_fails_at_start_up_when_the_pipeline_reads_wav(s4_copy):
    vid, cat = _first_clip(s4_copy, 'test')
    wav, _ = _audio_files(s4_copy, 'test', vid, cat)
    os.remove(wav)
    with pytest.raises(FileNotFoundError) as err:
        S4Dataset(data_root=s4_copy, split='test', pipeline=[LoadClipAudio(source='wav')])
    assert vid in str(err.value) and wav in str(err.value) and 'audio_wav_path' in str(err.value)


def test_audio_reader_inside_a_wrapper_and_custom_reader_are_found(s4_copy):
    from mmcv.transforms import BaseTransform, RandomChoice

    class CustomWavReader(BaseTransform):
        audio_path_keys = ('audio_wav_path', )

        def transform(self, results):
            return results

    vid, cat = _first_clip(s4_copy, 'train')
    wav, pkl = _audio_files(s4_copy, 'train', vid, cat)
    os.remove(pkl)
    wrapped = RandomChoice(transforms=[[LoadClipFrames()], [LoadClipAudio(source='pkl')]])
    with pytest.raises(FileNotFoundError, match=pkl):
        S4Dataset(data_root=s4_copy, split='train', pipeline=[wrapped])
    S4Dataset(data_root=s4_copy, split='train', pipeline=[CustomWavReader()])  # wav exists
    os.remove(wav)
    with pytest.raises(FileNotFoundError) as err:
        S4Dataset(data_root=s4_copy, split='train', pipeline=[CustomWavReader()])
    assert wav in str(err.value) and 'CustomWavReader' in str(err.value)


def test_audio_keys_override_the_pipeline(s4_copy):
    vid, cat = _first_clip(s4_copy, 'val')
    wav, pkl = _audio_files(s4_copy, 'val', vid, cat)
    os.remove(pkl)
    # no transform declares what it reads: the pkl is required only when asked for
    S4Dataset(data_root=s4_copy, split='val', pipeline=[LoadClipFrames()])
    with pytest.raises(FileNotFoundError, match=pkl):
        S4Dataset(data_root=s4_copy, split='val', audio_keys=('audio_pkl_path', ))
    os.remove(wav)
    ds = S4Dataset(data_root=s4_copy, split='val', audio_keys=())  # visual only: no audio needed
    info = [ds.get_data_info(i) for i in range(len(ds)) if ds.get_data_info(i)['vid'] == vid][0]
    assert info['audio_wav_path'] is None and info['audio_pkl_path'] is None
    with pytest.raises(ValueError, match='audio_mp3_path'):
        S4Dataset(data_root=s4_copy, split='val', audio_keys=('audio_mp3_path', ))


def test_shuffled_audio_donor_without_pkl_fails_at_start_up(s4_copy):
    # the clip that lacks its pkl donates audio to another clip: the error must come at start-up
    vid, cat = _first_clip(s4_copy, 'train')
    _, pkl = _audio_files(s4_copy, 'train', vid, cat)
    os.remove(pkl)
    pipeline = [LoadClipAudio(source='pkl')]
    with pytest.raises(FileNotFoundError) as err:
        S4Dataset(data_root=s4_copy, split='train', pipeline=pipeline, audio_shuffle_seed=3)
    assert pkl in str(err.value) and 'audio_shuffle_seed' in str(err.value)
