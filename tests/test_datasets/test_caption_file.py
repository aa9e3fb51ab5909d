"""Tests of the MIT caption files: loader / validator, dataset integration and PackAVSInputs."""
import json
import os
import os.path as osp
import shutil

import numpy as np
import pytest

from mmavs.datasets import AVSSDataset, MS3Dataset, S4Dataset
from mmavs.datasets.caption_file import CAPTION_FILES, dump_caption_file, load_caption_file
from mmavs.datasets.caption_windows import default_segment_window, frame_segment_index, segment_windows
from mmavs.datasets.transforms import LoadClipAudio, LoadClipFrames, PackAVSInputs


def _read(path):
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def _copy(root, tmp_path, name='copy'):
    dst = str(tmp_path / name)
    shutil.copytree(root, dst)
    return dst


# ------------------------------------------------------------------------------ helpers
@pytest.mark.parametrize('subset,total,window', [('s4', 5, 3), ('ms3', 5, 3), ('avss', 10, 3),
                                                 ('s4', 4, 2), ('avss', 8, 2), ('avss', 12, 3),
                                                 ('ms3', 1, 1)])
def test_default_segment_window_hand_values(subset, total, window):
    assert default_segment_window(subset, total) == window


def test_default_segment_window_rejects_unknown_subset():
    with pytest.raises(ValueError, match='unknown subset'):
        default_segment_window('vggsound', 5)


def test_segment_windows_and_frame_segment_hand_cases():
    assert segment_windows(5, 3) == [(0, 3), (3, 5)]
    assert segment_windows(10, 3) == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert segment_windows(6, 3) == [(0, 3), (3, 6)]
    assert segment_windows(0, 3) == []
    assert frame_segment_index(5, 10, 3) == [0, 0, 0, 1, 1, -1, -1, -1, -1, -1]
    assert frame_segment_index(10, 10, 3) == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3]
    assert frame_segment_index(5, 5, 5) == [0] * 5
    with pytest.raises(ValueError):
        frame_segment_index(6, 5, 3)
    with pytest.raises(ValueError):
        segment_windows(5, 0)


def test_dump_and_load_roundtrip(tmp_path):
    data = {'a': {'video': 'v', 'segments': ['s'], 'frames': ['f1', 'f2']}}
    path = str(tmp_path / 'sub' / 'c.json')
    dump_caption_file(path, data)
    assert load_caption_file(path) == data
    assert os.listdir(tmp_path / 'sub') == ['c.json']  # no temporary file left


# ------------------------------------------------------------------------- datasets
def test_s4_captions_match_file_and_windows(s4_root):
    truth = _read(osp.join(s4_root, 's4_captions.json'))
    for split in ('train', 'val'):
        ds = S4Dataset(data_root=s4_root, split=split, with_text=True)
        assert len(ds) > 0
        for idx in range(len(ds)):
            info = ds.get_data_info(idx)
            caps = info['captions']
            assert caps['video'] == truth[info['vid']]['video']
            assert caps['frames'] == truth[info['vid']]['frames']
            assert caps['segments'] == truth[info['vid']]['segments']
            assert len(caps['frames']) == 5 and len(caps['segments']) == 2
            assert caps['frame_segment'] == [0, 0, 0, 1, 1]


def test_ms3_captions_loaded(ms3_root):
    truth = _read(osp.join(ms3_root, 'ms3_captions.json'))
    ds = MS3Dataset(data_root=ms3_root, split='train', with_text=True)
    for idx in range(len(ds)):
        info = ds.get_data_info(idx)
        assert info['captions']['frames'] == truth[info['vid']]['frames']
        assert info['captions']['frame_segment'] == [0, 0, 0, 1, 1]


def test_avss_captions_follow_real_frame_count(avss_root):
    truth = _read(osp.join(avss_root, 'captions.json'))
    seen = set()
    for split in ('train', 'val', 'test'):
        ds = AVSSDataset(data_root=avss_root, split=split, with_text=True)
        for idx in range(len(ds)):
            info = ds.get_data_info(idx)
            caps, real = info['captions'], sum(info['frame_flags'])
            seen.add(real)
            assert caps['frames'] == truth[info['vid']]['frames'] and len(caps['frames']) == real
            expected_segments = {5: 2, 10: 4}[real]
            assert len(caps['segments']) == expected_segments
            assert caps['frame_segment'][:real] == [t // 3 for t in range(real)]
            assert caps['frame_segment'][real:] == [-1] * (10 - real)
    assert seen == {5, 10}  # both v1 (5 frames) and v2 (10 frames) clips were checked


def test_without_text_needs_no_caption_file(s4_root, tmp_path):
    root = _copy(s4_root, tmp_path)
    os.remove(osp.join(root, 's4_captions.json'))
    ds = S4Dataset(data_root=root, split='train')
    assert all('captions' not in ds.get_data_info(i) for i in range(len(ds)))
    with pytest.raises(FileNotFoundError) as err:
        S4Dataset(data_root=root, split='train', with_text=True)
    assert osp.join(root, 's4_captions.json') in str(err.value)
    assert 'generate_captions.py' in str(err.value)


def test_configurable_window_and_file(s4_root, tmp_path):
    root = _copy(s4_root, tmp_path)
    data = _read(osp.join(root, 's4_captions.json'))
    for entry in data.values():
        entry['segments'] = [' / '.join(entry['segments'])]  # one segment over the 5 frames
    other = str(tmp_path / 'elsewhere.json')
    dump_caption_file(other, data)
    ds = S4Dataset(data_root=root, split='val', with_text=True, caption_file=other, segment_window=5)
    for idx in range(len(ds)):
        caps = ds.get_data_info(idx)['captions']
        assert caps['frame_segment'] == [0] * 5 and len(caps['segments']) == 1
    # the default window (3) needs two segment captions: the first clip is named
    first = S4Dataset(data_root=root, split='val').get_data_info(0)['vid']
    with pytest.raises(ValueError) as err:
        S4Dataset(data_root=root, split='val', with_text=True, caption_file=other)
    assert f'"{first}"' in str(err.value) and 'segment captions' in str(err.value)
    assert other in str(err.value)
    with pytest.raises(ValueError, match='segment_window'):
        S4Dataset(data_root=root, split='val', with_text=True, segment_window=0)


def test_captions_follow_video_not_shuffled_audio(s4_root):
    truth = _read(osp.join(s4_root, 's4_captions.json'))
    ds = S4Dataset(data_root=s4_root, split='train', with_text=True, audio_shuffle_seed=3)
    for idx in range(len(ds)):
        info = ds.get_data_info(idx)
        assert info['audio_source'] != info['vid']
        assert info['captions']['video'] == truth[info['vid']]['video']


# ------------------------------------------------------------------------ bad input
def _damaged(root, tmp_path, name, edit):
    root = _copy(root, tmp_path)
    path = osp.join(root, name)
    data = _read(path)
    clip = sorted(data)[0]
    edit(data, clip)
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(data, f)
    return root, clip


@pytest.mark.parametrize('edit,exc,words', [
    (lambda d, c: d.pop(c), KeyError, 'no captions for clip'),
    (lambda d, c: d[c]['frames'].pop(), ValueError, '4 frame captions'),
    (lambda d, c: d[c]['segments'].append('x'), ValueError, '3 segment captions'),
    (lambda d, c: d[c].update(video=''), ValueError, '"video" must be a non-empty string'),
    (lambda d, c: d[c].update(frames='one string'), ValueError, '"frames" must be a list'),
    (lambda d, c: d[c]['frames'].__setitem__(2, 7), ValueError, '"frames"[2]'),
    (lambda d, c: d[c].pop('segments'), ValueError, "missing key(s) ['segments']"),
    (lambda d, c: d[c].update(extra='x'), ValueError, "unknown key(s) ['extra']"),
])
def test_bad_entries_name_the_clip(s4_root, tmp_path, edit, exc, words):
    root, clip = _damaged(s4_root, tmp_path, 's4_captions.json', edit)
    splits = [s for s in ('train', 'val', 'test')
              if clip in {i['vid'] for i in S4Dataset(data_root=root, split=s).load_data_list()}]
    with pytest.raises(exc) as err:
        S4Dataset(data_root=root, split=splits[0], with_text=True)
    msg = str(err.value)
    assert f'"{clip}"' in msg and words in msg and 's4_captions.json' in msg


def test_malformed_json_and_wrong_top_level(avss_root, tmp_path):
    root = _copy(avss_root, tmp_path)
    path = osp.join(root, 'captions.json')
    with open(path, 'w', encoding='utf-8') as f:
        f.write('{"a": {"video": ')
    with pytest.raises(ValueError) as err:
        AVSSDataset(data_root=root, split='val', with_text=True)
    assert 'not valid JSON' in str(err.value) and path in str(err.value)
    with open(path, 'w', encoding='utf-8') as f:
        json.dump([1, 2], f)
    with pytest.raises(ValueError, match='JSON object'):
        AVSSDataset(data_root=root, split='val', with_text=True)


def test_avss_v2_clip_with_v1_caption_counts_fails(avss_root, tmp_path):
    root = _copy(avss_root, tmp_path)
    ds = AVSSDataset(data_root=root, split='train', label_types=('v2', ))
    uid = ds.get_data_info(0)['vid']
    path = osp.join(root, CAPTION_FILES['avss'])
    data = _read(path)
    data[uid]['frames'] = data[uid]['frames'][:5]
    data[uid]['segments'] = data[uid]['segments'][:2]
    dump_caption_file(path, data)
    with pytest.raises(ValueError) as err:
        AVSSDataset(data_root=root, split='train', label_types=('v2', ), with_text=True)
    assert f'"{uid}"' in str(err.value) and '10 real frames' in str(err.value)


# ---------------------------------------------------------------------- PackAVSInputs
def test_pack_puts_captions_in_metainfo(s4_root):
    ds = S4Dataset(
        data_root=s4_root,
        split='val',
        with_text=True,
        pipeline=[LoadClipFrames(), LoadClipAudio(source='wav'), PackAVSInputs()])
    truth = _read(osp.join(s4_root, 's4_captions.json'))
    out = ds[0]
    sample = out['data_samples']
    vid = sample.metainfo['vid']
    assert sample.metainfo['captions']['frames'] == truth[vid]['frames']
    assert sample.metainfo['captions']['segments'] == truth[vid]['segments']
    assert sample.metainfo['captions']['frame_segment'] == [0, 0, 0, 1, 1]
    plain = S4Dataset(data_root=s4_root, split='val',
                      pipeline=[LoadClipFrames(), LoadClipAudio(source='wav'), PackAVSInputs()])
    assert 'captions' not in plain[0]['data_samples'].metainfo


def test_pack_rejects_captions_of_wrong_length():
    results = dict(
        vid='clipA',
        frames=np.zeros((3, 4, 4, 3), np.uint8),
        audio=np.zeros((3, 1, 96, 64), np.float32),
        frame_flags=[True] * 3,
        gt_flags=[True] * 3,
        captions=dict(video='v', segments=['s'], frames=['a', 'b', 'c'], frame_segment=[0, 0]))
    with pytest.raises(ValueError) as err:
        PackAVSInputs()(results)
    assert 'clipA' in str(err.value) and 'frame_segment' in str(err.value)
