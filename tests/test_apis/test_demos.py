"""demo/video_demo.py and demo/clip_demo.py end to end: decode what they write and compare with the masks."""
import importlib.util
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

from mmavs.apis import MissingAudioError, frames_at, iter_video_frames, probe_video, read_audio_track
from mmavs.evaluation.mask_files import read_pred_mask

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_demo(name: str):
    spec = importlib.util.spec_from_file_location(name, osp.join(REPO, 'demo', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def data_args(api) -> list:
    return ['--cfg-options'] + [f'{k}={v}' for k, v in api['options'].items()]


def train_clips(api_s4):
    return [(paths, wav) for split, paths, wav, _ in api_s4['clips'].values() if split == 'train']


def interior(mask: np.ndarray, pixels: int = 2) -> np.ndarray:
    """``mask`` without its border (chroma subsampling and the codec blur the edges)."""
    kernel = np.ones((2 * pixels + 1, 2 * pixels + 1), np.uint8)
    return cv2.erode(mask.astype(np.uint8), kernel) > 0


def test_video_demo_overlays_the_returned_masks_and_keeps_the_sound(api_s4, clip_video, tmp_path) -> None:
    video = str(tmp_path / 'talk.mp4')
    clip_video(video, train_clips(api_s4)[:2], fps=10)
    out, masks_dir = str(tmp_path / 'talk_masks.mp4'), str(tmp_path / 'masks')
    pred = load_demo('video_demo').main([video, api_s4['config'], api_s4['checkpoint'], '--out', out,
                                         '--save-masks', masks_dir, *data_args(api_s4)])
    source, written = probe_video(video), probe_video(out)
    assert written.num_frames == source.num_frames == 100
    assert written.duration == pytest.approx(source.duration) and written.fps == pytest.approx(10)
    assert written.has_audio
    heard, rate = read_audio_track(out)
    original, _ = read_audio_track(video)
    assert rate == 16000 and abs(heard.shape[0] - original.shape[0]) <= 2048
    n = min(heard.shape[0], original.shape[0])
    a, b = heard[:n, 0], original[:n, 0]
    assert np.dot(a, b) / np.sqrt(np.dot(a, a) * np.dot(b, b)) > 0.9  # the same sound, re-encoded
    # a legend line (12 px for 64 px frames) below the frame: the masks show the sounding object
    assert pred.masks.any() and (written.width, written.height) == (64, 64 + 12)

    alpha, red = 0.5, np.array([255.0, 0.0, 0.0])  # binary foreground is drawn red (docs/inference.md)
    inputs = dict(frames_at(video, pred.frame_times, source))
    outputs = {i: f.to_ndarray(format='rgb24') for i, (_, f) in enumerate(iter_video_frames(out))}
    checked = 0
    for k, index in enumerate(pred.frame_indices.tolist()):
        # the sampled frame and a frame earlier in the same second both show mask k
        for shown in (index, index - 5):
            frame_in = inputs[index].astype(float) if shown == index else None
            if frame_in is None:
                frame_in = dict(frames_at(video, [shown / 10], source))[shown].astype(float)
            frame_out = outputs[shown][:64].astype(float)
            inside, outside = interior(pred.masks[k] == 1), interior(pred.masks[k] == 0)
            if inside.sum() >= 10:
                blended = (1 - alpha) * frame_in + alpha * red
                assert np.abs(frame_out[inside] - blended[inside]).mean() < 10
                assert np.abs(blended[inside] - frame_in[inside]).mean() > 25  # the check can fail
                checked += 1
            assert np.abs(frame_out[outside] - frame_in[outside]).mean() < 6
    assert checked >= 6

    saved = sorted(p for p in os.listdir(masks_dir) if p.endswith('.png'))
    assert saved == [f'talk_{k:05d}.png' for k in range(10)]
    for k, name in enumerate(saved):
        np.testing.assert_array_equal(read_pred_mask(osp.join(masks_dir, name), 's4'), pred.masks[k])
    with open(osp.join(masks_dir, 'talk_masks.json')) as f:
        index_file = json.load(f)
    assert [f['time'] for f in index_file['frames']] == pred.frame_times.tolist()
    assert [f['clip'] for f in index_file['frames']] == ['talk_0'] * 5 + ['talk_1'] * 5


def test_clip_demo_writes_one_second_per_frame_with_the_wav(api_s4, tmp_path) -> None:
    paths, wav = train_clips(api_s4)[0]
    out = str(tmp_path / 'clip.mkv')
    pred = load_demo('clip_demo').main([osp.dirname(paths[0]), '--audio', wav, api_s4['config'],
                                        api_s4['checkpoint'], '--out', out, *data_args(api_s4)])
    written = probe_video(out)
    assert written.num_frames == 5 and written.duration == pytest.approx(5.0) and written.has_audio
    heard, rate = read_audio_track(out)
    assert abs(heard.shape[0] / rate - 5.0) < 0.1
    assert pred.masks.shape == (5, 64, 64)


def test_demo_stops_early_on_bad_input(api_s4, clip_video, tmp_path, capsys) -> None:
    demo = load_demo('video_demo')
    video = str(tmp_path / 'mute.mp4')
    clip_video(video, train_clips(api_s4)[:1], fps=10, with_audio=False)
    base = [video, api_s4['config'], api_s4['checkpoint'], *data_args(api_s4)]
    with pytest.raises(MissingAudioError, match='mute.mp4" has no audio track'):
        demo.main(base + ['--out', str(tmp_path / 'a.mp4')])
    demo.main(base + ['--out', str(tmp_path / 'silent.mp4'), '--allow-silent'])
    silent = probe_video(str(tmp_path / 'silent.mp4'))
    assert silent.num_frames == 50 and not silent.has_audio
    with pytest.raises(SystemExit, match='must end with one of'):
        demo.main(base + ['--out', str(tmp_path / 'a.gif')])
    icf = osp.join(REPO, 'configs/icl/icl_tiny_synthetic_s4.py')
    with pytest.raises(SystemExit, match='uses MIT text.*--caption-file'):
        demo.main([video, icf, api_s4['checkpoint'], '--out', str(tmp_path / 'b.mp4'), *data_args(api_s4)])
    if not torch.cuda.is_available():
        with pytest.raises(SystemExit, match='CUDA is not available'):
            demo.main(base + ['--out', str(tmp_path / 'c.mp4'), '--device', 'cuda'])
