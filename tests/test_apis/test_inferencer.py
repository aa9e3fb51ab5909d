"""AVSInferencer end to end on generated clips: the three inputs agree, long videos, padding, AVSS, MIT, bad input."""
import json
import os.path as osp
import shutil

import numpy as np
import pytest
import soundfile as sf
import torch
from mmengine.dataset import Compose, pseudo_collate
from PIL import Image

from mmavs.apis import (
    AVSInferencer,
    DatasetClip,
    FrameFolder,
    MissingAudioError,
    VideoFile,
    VideoReadError,
    write_video,
)
from mmavs.audio import load_log_mel
from mmavs.datasets import AVSSDataset
from mmavs.datasets.synthetic import dump_tensor_pickle
from mmavs.registry import TRANSFORMS

ICF_S4_CONFIG = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
                         'configs/icl/icl_tiny_synthetic_s4.py')


@pytest.fixture(scope='module')
def s4_inferencer(api_s4) -> AVSInferencer:
    return AVSInferencer(api_s4['config'], api_s4['checkpoint'], device='cpu', cfg_options=api_s4['options'],
                         show_progress=False)


def train_clips(api_s4):
    return [(vid, paths, wav) for vid, (split, paths, wav, _) in api_s4['clips'].items() if split == 'train']


def test_dataset_clip_folder_and_lossless_video_agree(api_s4, s4_inferencer, clip_video, tmp_path) -> None:
    vid, paths, wav = train_clips(api_s4)[0]
    from_dataset = s4_inferencer(DatasetClip('train', vid))['predictions']
    from_folder = s4_inferencer(FrameFolder(osp.dirname(paths[0]), wav))['predictions']
    video = str(tmp_path / f'{vid}.mkv')
    clip_video(video, [(paths, wav)], fps=10, lossless=True)
    from_video = s4_inferencer(video)['predictions']

    assert from_dataset.masks.shape == (5, 64, 64) and from_dataset.masks.dtype == np.uint8
    assert from_dataset.classes == ('background', 'sounding object')
    for pred in (from_folder, from_video):
        np.testing.assert_array_equal(pred.masks, from_dataset.masks)
        np.testing.assert_allclose(pred.probs, from_dataset.probs, atol=1e-5)
    # AVSBench keeps frame int(k * F + 15 / 16 * F) of second k (F = 10 fps here)
    assert from_video.frame_indices.tolist() == [int(k * 10 + 15 / 16 * 10) for k in range(5)]
    assert from_video.frame_times.tolist() == [0.9375, 1.9375, 2.9375, 3.9375, 4.9375]
    assert from_video.clip_ids == [vid] and from_video.name == vid
    # the masks are the sounding object: the trained model overlaps the ground truth of frame 1
    gt = np.asarray(Image.open(paths[0].replace('visual_frames', 'gt_masks')).convert('L')) > 127
    pred = from_dataset.masks[0] > 0
    assert gt.any() and (pred & gt).sum() / (pred | gt).sum() > 0.5
    assert ((from_dataset.probs > 0.5) == (from_dataset.masks == 1)).all()


def test_lossy_mp4_is_close_to_the_dataset_clip(api_s4, s4_inferencer, clip_video, tmp_path) -> None:
    vid, paths, wav = train_clips(api_s4)[1]
    video = str(tmp_path / f'{vid}.mp4')
    clip_video(video, [(paths, wav)], fps=10)
    pred = s4_inferencer(video)['predictions']
    expected = s4_inferencer(DatasetClip('train', vid))['predictions']
    assert (pred.masks == expected.masks).mean() > 0.97


def test_sixty_second_video_gets_a_mask_for_every_second(api_s4, s4_inferencer, clip_video, tmp_path) -> None:
    clips = train_clips(api_s4)
    video = str(tmp_path / 'long.mkv')
    clip_video(video, [(clips[c % 4][1], clips[c % 4][2]) for c in range(12)], fps=10, lossless=True)
    pred = s4_inferencer(video, batch_size=2)['predictions']
    assert pred.masks.shape == (60, 64, 64)
    assert pred.clip_ids == [f'long_{c}' for c in range(12)]
    assert pred.frame_clips.tolist() == [c for c in range(12) for _ in range(5)]
    np.testing.assert_allclose(pred.frame_times, np.arange(60) + 0.9375)
    per_clip = [s4_inferencer(DatasetClip('train', vid))['predictions'].masks for vid, _, _ in clips]
    for c in range(12):  # clips are cut at 5 s boundaries: clip c is exactly the dataset clip c % 4
        np.testing.assert_array_equal(pred.masks[5 * c:5 * c + 5], per_clip[c % 4])


def test_short_last_clip_repeats_its_last_frame_and_example(api_s4, s4_inferencer, clip_video, tmp_path) -> None:
    """A 7 s video: clip 1 has 2 real frames, completed as S4 was trained (last frame and example repeated)."""
    clips = train_clips(api_s4)
    (_, paths_a, wav_a), (vid_b, paths_b, wav_b) = clips[0], clips[1]
    cut = str(tmp_path / 'b_2s')
    shutil.copytree(osp.dirname(paths_b[0]), cut)
    samples, rate = sf.read(wav_b, dtype='int16')
    sf.write(osp.join(cut, 'b.wav'), samples[:2 * rate], rate, subtype='PCM_16')
    video = str(tmp_path / 'seven.mkv')
    clip_video(video, [(paths_a, wav_a), (paths_b[:2], osp.join(cut, 'b.wav'))], fps=10, lossless=True)
    pred = s4_inferencer(video)['predictions']
    assert pred.masks.shape[0] == 7 and pred.clip_ids == ['seven_0', 'seven_1']

    # expected: the dataset pipeline on frames [b1, b2, b2, b2, b2] with log-mel examples [e1, e2, e2, e2, e2]
    pkl = str(tmp_path / 'b_padded.pkl')
    examples = load_log_mel(api_s4['clips'][vid_b][3])
    dump_tensor_pickle(pkl, torch.from_numpy(examples[[0, 1, 1, 1, 1]]))
    pipeline = Compose([TRANSFORMS.build(t) for t in s4_inferencer.dataset_pipeline])
    info = dict(vid=vid_b, subset='s4', split='train', num_frames=5, frame_flags=[True] * 5, gt_flags=[False] * 5,
                frame_paths=[paths_b[0]] + [paths_b[1]] * 4, audio_pkl_path=pkl, audio_wav_path=None,
                num_classes=1)
    with torch.no_grad():
        sample = s4_inferencer.model.test_step(pseudo_collate([pipeline(info)]))[0]
    np.testing.assert_array_equal(pred.masks[5:], sample.pred_masks[:2].numpy())


def test_dense_sampling_centres_frames_in_their_intervals(api_s4, clip_video, tmp_path) -> None:
    vid, paths, wav = train_clips(api_s4)[0]
    video = str(tmp_path / 'dense.mkv')
    clip_video(video, [(paths, wav)], fps=10, lossless=True)
    dense = AVSInferencer(api_s4['config'], api_s4['checkpoint'], cfg_options=api_s4['options'], fps=4,
                          show_progress=False)
    pred = dense(video)['predictions']
    assert pred.masks.shape == (20, 64, 64) and pred.clip_ids == [f'dense_{c}' for c in range(4)]
    np.testing.assert_allclose(pred.frame_times, (np.arange(20) + 0.5) / 4)
    assert pred.frame_indices.tolist() == [int((k + 0.5) / 4 * 10) for k in range(20)]
    with pytest.raises(ValueError, match='fps applies to videos only'):
        dense(FrameFolder(osp.dirname(paths[0]), wav))


def test_avss_clips_are_flag_padded_with_dataset_class_names(api_avss, clip_video, tmp_path) -> None:
    inferencer = AVSInferencer(api_avss['config'], api_avss['checkpoint'], cfg_options=api_avss['options'],
                               show_progress=False)
    with open(osp.join(api_avss['root'], 'label2idx.json')) as f:
        names = tuple(json.load(f))
    pred_names = inferencer.model.dataset_meta['classes']
    assert pred_names == names and len(names) == 71
    infos = AVSSDataset(data_root=api_avss['root'], split='test').load_data_list()
    seen = set()
    for info in infos:
        real = sum(info['frame_flags'])
        wav, frames = info['audio_wav_path'], [p for p in info['frame_paths'] if p is not None]
        video = str(tmp_path / f'{info["vid"]}.mkv')
        clip_video(video, [(frames, wav)], fps=10, lossless=True)
        pred = inferencer(video)['predictions']
        expected = inferencer(DatasetClip('test', info['vid']))['predictions']
        assert pred.masks.shape[0] == real and len(pred.clip_ids) == 1
        np.testing.assert_array_equal(pred.masks, expected.masks)
        assert pred.classes == names and pred.palette[1] == [128, 0, 0]
        seen.add(real)
    assert seen == {5, 10}  # v1s / v1m (5 real frames, padded to 10) and v2 (10)


def test_missing_audio_is_an_error_or_silence(api_s4, s4_inferencer, clip_video, tmp_path) -> None:
    vid, paths, wav = train_clips(api_s4)[0]
    mute = str(tmp_path / 'mute.mkv')
    clip_video(mute, [(paths, wav)], fps=10, lossless=True, with_audio=False)
    with pytest.raises(MissingAudioError, match='mute.mkv" has no audio track.*allow_silent=True'):
        s4_inferencer(mute)
    silent = AVSInferencer(api_s4['config'], api_s4['checkpoint'], cfg_options=api_s4['options'],
                           allow_silent=True, show_progress=False)
    zeros = str(tmp_path / 'zeros.mkv')
    clip_video(zeros, [(paths, wav)], fps=10, lossless=True, silent_audio=True)
    np.testing.assert_array_equal(silent(mute)['predictions'].masks, silent(zeros)['predictions'].masks)


def test_bad_inputs_are_named(api_s4, s4_inferencer, clip_video, tmp_path) -> None:
    empty = tmp_path / 'empty.mp4'
    empty.write_bytes(b'')
    with pytest.raises(VideoReadError, match='empty.mp4" is empty'):
        s4_inferencer(str(empty))
    broken = tmp_path / 'broken.webm'
    broken.write_bytes(b'\x1aE\xdf\xa3' + b'\x00' * 64)
    with pytest.raises(VideoReadError, match='broken.webm'):
        s4_inferencer(VideoFile(str(broken)))
    vid, paths, wav = train_clips(api_s4)[0]
    short = str(tmp_path / 'short.mov')
    write_video(short, ((i / 10, np.zeros((32, 32, 3), np.uint8)) for i in range(5)), 10,
                audio=(np.zeros(8000, np.float32), 16000))
    with pytest.raises(ValueError, match='short.mov" lasts 0.500 s, shorter than one frame interval'):
        s4_inferencer(short)
    folder = tmp_path / 'frames_only'
    shutil.copytree(osp.dirname(paths[0]), folder)
    with pytest.raises(FileNotFoundError, match='frames_only" has no wav file'):
        s4_inferencer(str(folder))
    with pytest.raises(FileNotFoundError, match='nothing.mp4" does not exist'):
        s4_inferencer('nothing.mp4')
    with pytest.raises(KeyError, match=r'clip "nope" is not in the \W+train\W+ split of S4Dataset'):
        s4_inferencer(DatasetClip('train', 'nope'))


@pytest.fixture(scope='module')
def icf_video(api_s4, clip_video, tmp_path_factory):
    """A 10 s video of two S4 clips and a caption file for its clips ``talk_0`` / ``talk_1``."""
    folder = tmp_path_factory.mktemp('icf')
    clips = train_clips(api_s4)[:2]
    video = str(folder / 'talk.mkv')
    clip_video(video, [(p, w) for _, p, w in clips], fps=10, lossless=True)
    with open(osp.join(api_s4['root'], 's4_captions.json')) as f:
        generated = json.load(f)
    captions = str(folder / 'captions.json')
    with open(captions, 'w') as f:
        json.dump({f'talk_{c}': generated[vid] for c, (vid, _, _) in enumerate(clips)}, f)
    partial = str(folder / 'partial.json')
    with open(partial, 'w') as f:
        json.dump({'talk_0': generated[clips[0][0]]}, f)
    return dict(video=video, captions=captions, partial=partial)


def test_mit_model_needs_captions_checked_before_decoding(api_s4, icf_video, monkeypatch) -> None:
    from mmavs.apis import inferencer as inferencer_module

    def no_decoding(*args, **kwargs):
        raise AssertionError('frames were decoded before the captions were checked')

    monkeypatch.setattr(inferencer_module, 'frames_at', no_decoding)
    bare = AVSInferencer(ICF_S4_CONFIG, None, cfg_options=api_s4['options'], show_progress=False)
    with pytest.raises(ValueError, match='uses MIT text.*caption_file=.*captioner='):
        bare(icf_video['video'])
    partial = AVSInferencer(ICF_S4_CONFIG, None, cfg_options=api_s4['options'], caption_file=icf_video['partial'],
                            show_progress=False)
    with pytest.raises(KeyError, match='partial.json" has no captions for clip "talk_1"'):
        partial(icf_video['video'])


def test_mit_captions_from_a_file_or_a_captioner_agree(api_s4, icf_video) -> None:
    torch.manual_seed(0)
    with_file = AVSInferencer(ICF_S4_CONFIG, None, cfg_options=api_s4['options'], caption_file=icf_video['captions'],
                              show_progress=False)
    state = with_file.model.state_dict()
    with_captioner = AVSInferencer(ICF_S4_CONFIG, None, cfg_options=api_s4['options'],
                                   captioner=dict(type='import', source=icf_video['captions']), show_progress=False)
    with_captioner.model.load_state_dict(state)
    a = with_file(icf_video['video'])['predictions']
    b = with_captioner(icf_video['video'])['predictions']
    assert a.masks.shape == (10, 64, 64) and a.clip_ids == ['talk_0', 'talk_1']
    np.testing.assert_allclose(a.probs, b.probs, atol=1e-6)
    # the text reaches the model: other captions change the probabilities
    with open(icf_video['captions']) as f:
        entries = json.load(f)
    swapped = dict(talk_0=entries['talk_1'], talk_1=entries['talk_0'])
    other = osp.join(osp.dirname(icf_video['captions']), 'swapped.json')
    with open(other, 'w') as f:
        json.dump(swapped, f)
    with_other = AVSInferencer(ICF_S4_CONFIG, None, cfg_options=api_s4['options'], caption_file=other,
                               show_progress=False)
    with_other.model.load_state_dict(state)
    assert np.abs(with_other(icf_video['video'])['predictions'].probs - a.probs).max() > 1e-4
