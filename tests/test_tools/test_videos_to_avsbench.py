"""tools/dataset_converters/videos_to_avsbench.py: frames at k + 15/16 s, matching features, resume, bad input."""
import importlib.util
import json
import os
import os.path as osp
import pickle

import numpy as np
import pytest
from PIL import Image

from mmavs.apis.video_io import write_video
from mmavs.audio import read_wav, waveform_to_examples

av = pytest.importorskip('av')

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FPS = 16
SIZE = 64


def _tool():
    spec = importlib.util.spec_from_file_location(
        'videos_to_avsbench', osp.join(ROOT, 'tools', 'dataset_converters', 'videos_to_avsbench.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _grey(i: int) -> int:
    return (i * 2) % 250


def _make_video(path: str, seconds: float, audio: bool = True) -> np.ndarray:
    """Frame ``i`` is uniformly grey ``_grey(i)``; the audio is a 440 Hz tone at 16 kHz."""
    n = int(round(seconds * FPS))
    frames = ((i / FPS, np.full((SIZE, SIZE, 3), _grey(i), np.uint8)) for i in range(n))
    t = np.arange(int(seconds * 16000)) / 16000
    wave = (0.3 * np.sin(2 * np.pi * 440 * t) * (1 + 0.5 * np.sin(2 * np.pi * 0.7 * t))).astype(np.float32)
    write_video(path, frames, FPS, audio=(wave, 16000) if audio else None)
    return wave


def _run(argv):
    return _tool().main(argv)


def test_s4_unlabeled_long_video(tmp_path):
    src = tmp_path / 'videos' / 'dog'
    src.mkdir(parents=True)
    wave = _make_video(str(src / 'a.mp4'), 10.0)
    out = str(tmp_path / 'out')
    assert _run([str(tmp_path / 'videos'), '--out', out, '--layout', 's4', '--size', str(SIZE)]) == 0
    from mmavs.datasets import S4Dataset
    ds = S4Dataset(data_root=out, split='test', with_gt=False, audio_keys=('audio_pkl_path', ))
    assert [d['vid'] for d in ds] == ['a_0', 'a_1']  # consecutive clips, sorted
    info = ds[1]
    assert info['category'] == 'dog' and not any(info['gt_flags'])
    assert not osp.exists(osp.join(out, 's4_data', 'gt_masks'))
    for j, path in enumerate(info['frame_paths']):  # clip 1, frame j: second 5 + j, source frame 16 (5 + j) + 15
        level = np.asarray(Image.open(path).convert('L'), np.float64).mean()
        assert abs(level - _grey(FPS * (5 + j) + 15)) <= 3, (j, level)
    with open(info['audio_pkl_path'], 'rb') as f:
        pkl = pickle.load(f).numpy()
    assert pkl.shape == (5, 1, 96, 64)
    written, rate = read_wav(info['audio_wav_path'])
    assert rate == 16000 and written.ndim == 1
    expected = waveform_to_examples(written, 16000)
    expected = np.concatenate([expected, expected[-1:].repeat(5 - len(expected), 0)])[:, None]
    np.testing.assert_allclose(pkl, expected, atol=1e-4)
    seg = wave[5 * 16000:10 * 16000][:len(written)]  # AAC is lossy: loose check against the source
    assert np.corrcoef(seg[2000:-2000], written[2000:len(seg) - 2000])[0, 1] > 0.9
    stamp = json.load(open(osp.join(out, '.mmavs_frontend.json')))
    assert stamp['layout'] == 's4' and stamp['num_mel_bins'] == 64

    # resume: nothing is rewritten
    mtime = os.path.getmtime(info['frame_paths'][0])
    assert _run([str(tmp_path / 'videos'), '--out', out, '--layout', 's4', '--size', str(SIZE)]) == 0
    assert os.path.getmtime(info['frame_paths'][0]) == mtime
    # another layout into the same folder: refused (stamp differs)
    assert _run([str(tmp_path / 'videos'), '--out', out, '--layout', 'ms3']) == 2


def test_bad_inputs_reported(tmp_path, capsys):
    src = tmp_path / 'videos'
    src.mkdir()
    _make_video(str(src / 'good.mp4'), 5.0)
    _make_video(str(src / 'mute.mp4'), 5.0, audio=False)
    _make_video(str(src / 'short.mp4'), 3.0)
    (src / 'broken.mp4').write_bytes(b'not a video at all' * 10)
    out = str(tmp_path / 'out')
    assert _run([str(src), '--out', out, '--size', str(SIZE)]) == 1
    report = json.load(open(osp.join(out, 'conversion_report.json')))
    assert sorted(report['clips']) == ['good']
    problems = {osp.basename(p['video']): p for p in report['problems']}
    assert set(problems) == {'mute.mp4', 'short.mp4', 'broken.mp4'}
    assert 'mute.mp4' in problems['mute.mp4']['message'] and 'audio' in problems['mute.mp4']['message']
    assert problems['short.mp4']['status'] == 'refused'
    # pad: the short video gives one clip whose frames clamp to the last frame
    out2 = str(tmp_path / 'out2')
    os.remove(str(src / 'broken.mp4'))
    os.remove(str(src / 'mute.mp4'))
    assert _run([str(src), '--out', out2, '--size', str(SIZE), '--short', 'pad']) == 0
    last = osp.join(out2, 's4_data', 'visual_frames', 'test', 'unknown', 'short', 'short_5.png')
    level = np.asarray(Image.open(last).convert('L'), np.float64).mean()
    assert abs(level - _grey(3 * FPS - 1)) <= 3


def test_masks_and_avss(tmp_path):
    src = tmp_path / 'videos'
    src.mkdir()
    _make_video(str(src / 'v.mp4'), 10.0)
    masks = tmp_path / 'masks' / 'v'
    masks.mkdir(parents=True)
    for i in range(9):  # one missing
        Image.fromarray(np.zeros((SIZE, SIZE, 3), np.uint8)).save(str(masks / f'{i:02d}.png'))
    out = str(tmp_path / 'out')
    assert _run([str(src), '--out', out, '--layout', 'avss', '--masks', str(tmp_path / 'masks')]) == 1
    report = json.load(open(osp.join(out, 'conversion_report.json')))
    assert str(masks) in report['problems'][0]['message']
    Image.fromarray(np.zeros((SIZE, SIZE, 3), np.uint8)).save(str(masks / '09.png'))
    assert _run([str(src), '--out', out, '--layout', 'avss', '--masks', str(tmp_path / 'masks')]) == 0
    from mmavs.datasets import AVSSDataset
    ds = AVSSDataset(data_root=out, split='test')
    info = ds[0]
    assert info['vid'] == 'v' and info['num_frames'] == 10 and all(info['gt_flags'])
    for j in (0, 3, 9):  # JPEG frames of second j: source frame 16 j + 15
        level = np.asarray(Image.open(info['frame_paths'][j]).convert('L'), np.float64).mean()
        assert abs(level - _grey(FPS * j + 15)) <= 4, (j, level)


def test_unlabeled_clip_through_test_pipeline_and_foreign_folder(tmp_path):
    from mmengine.config import Config

    from mmavs.datasets import S4Dataset
    src = tmp_path / 'videos'
    src.mkdir()
    _make_video(str(src / 'v.mp4'), 5.0)
    out = str(tmp_path / 'out')
    assert _run([str(src), '--out', out, '--size', str(SIZE)]) == 0
    cfg = Config.fromfile(osp.join(ROOT, 'configs', '_base_', 'datasets', 's4.py'))
    ds = S4Dataset(data_root=out, split='test', with_gt=False, pipeline=cfg.test_pipeline, test_mode=True)
    sample = ds[0]
    assert sample is not None and 'inputs' in sample
    # an unstamped folder holding another dataset is refused unless --overwrite
    other = tmp_path / 'other'
    other.mkdir()
    (other / 'metadata.csv').write_text('vid,uid,s_min,s_sec,a_obj,split,label\n')
    assert _run([str(src), '--out', str(other), '--size', str(SIZE)]) == 2
    assert _run([str(src), '--out', str(other), '--size', str(SIZE), '--overwrite']) == 0


def test_ms3_workers_and_mask_size(tmp_path):
    from mmavs.datasets import MS3Dataset
    src = tmp_path / 'videos'
    src.mkdir()
    for name in ('a', 'b'):
        _make_video(str(src / f'{name}.mp4'), 5.0)
    masks = tmp_path / 'masks'
    for name, side in (('a', SIZE), ('b', SIZE // 2)):  # b's masks have the wrong size
        (masks / name).mkdir(parents=True)
        for i in range(5):
            Image.fromarray(np.full((side, side), 255 * (i % 2), np.uint8)).save(str(masks / name / f'{i}.png'))
    out = str(tmp_path / 'out')
    assert _run([str(src), '--out', out, '--layout', 'ms3', '--masks', str(masks), '--workers', '2',
                 '--size', str(SIZE)]) == 1
    report = json.load(open(osp.join(out, 'conversion_report.json')))
    assert sorted(report['clips']) == ['a']
    assert str(masks / 'b' / '0.png') in report['problems'][0]['message']
    ds = MS3Dataset(data_root=out, split='test')
    info = ds[0]
    assert info['vid'] == 'a' and all(info['gt_flags'])
    level = np.asarray(Image.open(info['frame_paths'][2]).convert('L'), np.float64).mean()
    assert abs(level - _grey(2 * FPS + 15)) <= 3
    assert np.asarray(Image.open(info['mask_paths'][1])).max() == 255


def test_unlabeled_videos_captioned_and_predicted_by_tools_test(tmp_path, untrained_checkpoint):
    """Own videos without masks -> captions (import backend) -> tools/test.py --save-pred with with_gt=False."""
    src = tmp_path / 'videos'
    src.mkdir()
    for name in ('a', 'b'):
        _make_video(str(src / f'{name}.mp4'), 5.0)
    out = str(tmp_path / 'out')
    assert _run([str(src), '--out', out, '--size', str(SIZE)]) == 0
    captions = {vid: dict(video=f'video {vid}', segments=['s0', 's1'], frames=[f'f{t}' for t in range(5)])
                for vid in ('a', 'b')}
    source = tmp_path / 'caps.json'
    source.write_text(json.dumps(captions))
    spec = importlib.util.spec_from_file_location(
        'generate_captions', osp.join(ROOT, 'tools', 'dataset_converters', 'generate_captions.py'))
    captioner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(captioner)
    captioner.main(['--subset', 's4', '--data-root', out, '--backend', 'import', '--source', str(source),
                    '--splits', 'test'])  # no mask is needed to caption frames
    assert json.load(open(osp.join(out, 's4_captions.json'))) == captions

    spec = importlib.util.spec_from_file_location('_test_tool_unlabeled', osp.join(ROOT, 'tools', 'test.py'))
    test_tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(test_tool)
    config = 'configs/icl/icl_tiny_synthetic_s4.py'
    ckpt = untrained_checkpoint(config)
    options = ['--cfg-options', f'test_dataloader.dataset.data_root={out}', 'test_dataloader.dataset.with_gt=False']
    base = [osp.join(ROOT, config), ckpt, '--work-dir', str(tmp_path / 'work')]
    pred = tmp_path / 'pred'
    assert test_tool.main(base + ['--save-pred', str(pred)] + options) == {}  # no ground truth, no metric
    for vid in ('a', 'b'):
        names = sorted(os.listdir(pred / 'pred_masks' / 'unknown' / vid))
        assert names == [f'{vid}_{t}.png' for t in range(5)]  # the official save_mask names
        mask = np.asarray(Image.open(pred / 'pred_masks' / 'unknown' / vid / names[0]))
        assert mask.shape == (SIZE, SIZE) and set(np.unique(mask)) <= {0, 255}
    assert json.load(open(pred / 'manifest.json'))['dataset'] == dict(subset='s4', split='test', clips=2)
    for extra, words in ((['--out', str(tmp_path / 'm.json')], 'no metrics for --out'),
                         ([], 'nothing to score')):
        with pytest.raises(SystemExit, match=words):
            test_tool.main(base + extra + options)


def test_resumed_video_is_not_decoded_again(tmp_path, monkeypatch):
    from mmavs.datasets.conversion import videos
    path = str(tmp_path / 'v.mp4')
    _make_video(path, 11.0)  # clips v_0, v_1 and a refused 1 s remainder
    job = videos.VideoJob(path, str(tmp_path / 'out'), 's4', size=SIZE)
    first = videos.convert_video(job)
    assert [(r.clip, r.status) for r in first] == [('v_2', 'refused'), ('v_0', 'written'), ('v_1', 'written')]

    def no_decoding(*args, **kwargs):
        raise videos.ConversionError('decoded again')  # a failed record if anything is decoded

    monkeypatch.setattr(videos, 'read_audio_track', no_decoding)
    monkeypatch.setattr(videos, 'frames_at', no_decoding)
    again = videos.convert_video(videos.VideoJob(path, job.out, 's4', size=SIZE, done=('v_0', 'v_1')))
    assert [(r.clip, r.status) for r in again] == [('v_2', 'refused'), ('v_0', 'skipped'), ('v_1', 'skipped')]
    assert [r.row for r in again[1:]] == [r.row for r in first[1:]]
    part = videos.convert_video(videos.VideoJob(path, job.out, 's4', size=SIZE, done=('v_0', )))
    assert [(r.status, r.message) for r in part] == [('failed', 'decoded again')]  # v_1 is still to do
