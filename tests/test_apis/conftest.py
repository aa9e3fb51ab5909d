"""Session fixtures of the inference tests: a small trained S4 model, an AVSS model, videos made of clips.

- ``api_s4``: a generated S4-layout set (64x64 frames; 4 train clips, 1 test clip) and the tiny baseline
  trained on it for 40 iterations through MMEngine's Runner (it overfits the train clips, so its masks
  there are real objects, not empty);
- ``api_avss``: a generated AVSS-layout set and a randomly initialised tiny AVSS baseline saved as a
  checkpoint without dataset metadata (class names then come from the set's ``label2idx.json``);
- ``clip_video``: a factory writing clips of a dataset into one video file with PyAV, each frame held for
  its second, the clips' wavs as the audio track.
"""
import contextlib
import os.path as osp
from typing import Callable, Dict, Iterator, List, Sequence

import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmavs.apis import init_model, write_video
from mmavs.audio import read_wav
from mmavs.datasets import S4Dataset
from mmavs.datasets.synthetic import S4_DIRNAME, generate_avsbench

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
S4_CONFIG = osp.join(REPO, 'configs/baseline/baseline_tiny_synthetic_s4.py')
AVSS_CONFIG = osp.join(REPO, 'configs/baseline/baseline_tiny_synthetic_avss.py')
#: Lossless codecs (mkv): the decoded frames and samples are those written.
LOSSLESS = dict(video_codec='ffv1', pix_fmt='bgr0', audio_codec='pcm_s16le')


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run torch on one thread: on the shared 2-core machine two threads wait on each other (4x slower)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope='module', autouse=True)
def _one_thread_per_module() -> Iterator[None]:
    with one_torch_thread():
        yield


def data_options(root: str) -> Dict[str, str]:
    """``cfg_options`` pointing every loader of a config at ``root``."""
    return {f'{loader}.dataset.data_root': root for loader in ('train_dataloader', 'val_dataloader',
                                                               'test_dataloader')}


@pytest.fixture(scope='session')
def api_s4(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, object]:
    """``dict(root, checkpoint, config, options, clips)`` of the trained tiny S4 baseline.

    ``clips``: ``{vid: (split, frame_paths, wav_path, pkl_path)}`` of the train and test clips.
    """
    out = str(tmp_path_factory.mktemp('api_s4'))
    generate_avsbench(out, subset='s4', size=64, seed=0, num_train=4, num_val=1, num_test=1)
    root = osp.join(out, S4_DIRNAME)
    cfg = Config.fromfile(S4_CONFIG)
    cfg.merge_from_dict(data_options(root))
    # InfiniteSampler: MMEngine's iteration loop sleeps 2 s each time a finite loader ends (every iteration here)
    cfg.train_dataloader.update(batch_size=4, num_workers=0, persistent_workers=False,
                                sampler=dict(type='InfiniteSampler', shuffle=True))
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=40, val_interval=1000)
    cfg.param_scheduler = []
    cfg.optim_wrapper.optimizer.lr = 3e-3
    for key in ('val_dataloader', 'val_evaluator', 'val_cfg', 'test_dataloader', 'test_evaluator', 'test_cfg'):
        cfg[key] = None
    cfg.default_hooks.checkpoint = dict(type='AtomicCheckpointHook', interval=40, by_epoch=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=20)
    cfg.log_level = 'WARNING'
    cfg.work_dir = str(tmp_path_factory.mktemp('api_s4_work'))
    with one_torch_thread():
        Runner.from_cfg(cfg).train()
    clips = {}
    for split in ('train', 'test'):
        for info in S4Dataset(data_root=root, split=split).load_data_list():
            clips[info['vid']] = (split, list(info['frame_paths']), info['audio_wav_path'], info['audio_pkl_path'])
    return dict(root=root, checkpoint=osp.join(cfg.work_dir, 'iter_40.pth'), config=S4_CONFIG,
                options=data_options(root), clips=clips)


@pytest.fixture(scope='session')
def api_avss(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, object]:
    """``dict(root, checkpoint, config, options)`` of a randomly initialised tiny AVSS baseline."""
    root = str(tmp_path_factory.mktemp('api_avss'))
    generate_avsbench(root, subset='avss', size=64, seed=0, num_train=1, num_val=1, num_test=3)
    torch.manual_seed(0)
    model = init_model(AVSS_CONFIG, None, cfg_options=data_options(root))
    checkpoint = osp.join(root, 'random_avss.pth')
    torch.save(dict(state_dict=model.state_dict()), checkpoint)  # no meta: names from label2idx.json
    return dict(root=root, checkpoint=checkpoint, config=AVSS_CONFIG, options=data_options(root))


def write_clips_video(path: str, clips: Sequence[tuple], fps: int = 10, lossless: bool = False,
                      with_audio: bool = True, silent_audio: bool = False) -> List[np.ndarray]:
    """Write clips ``(frame_paths, wav)`` one after the other: frame ``k`` of a clip fills its second ``k``.

    Frames are decoded as ``LoadClipFrames`` decodes them (OpenCV), the audio track is the clips' wavs
    (``silent_audio``: zeros of the same length). Returns the frames, one per second of video.
    """
    frames, audio, rate = [], [], None
    for paths, wav in clips:
        frames += [mmcv.imread(p, channel_order='rgb') for p in paths]
        samples, rate = read_wav(wav)
        assert samples.shape[0] == len(paths) * rate, 'a clip\'s wav must last one second per frame'
        audio.append(samples)
    track = np.concatenate(audio)
    if silent_audio:
        track = np.zeros_like(track)
    write_video(path, ((i / fps, frames[i // fps]) for i in range(len(frames) * fps)), fps,
                audio=(track, rate) if with_audio else None, **(LOSSLESS if lossless else {}))
    return frames


@pytest.fixture(scope='session')
def clip_video() -> Callable[..., List[np.ndarray]]:
    """:func:`write_clips_video`."""
    return write_clips_video
