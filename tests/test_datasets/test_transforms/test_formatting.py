"""Tests of PackAVSInputs."""
import numpy as np
import pytest
import torch

from mmavs.datasets.transforms import PackAVSInputs
from mmavs.structures import AVSDataSample

T, H, W = 4, 5, 7


def _results(**overrides):
    rng = np.random.default_rng(0)
    results = dict(
        vid='v1',
        subset='avss',
        split='val',
        num_frames=T,
        ori_shape=(9, 11),
        img_shape=(H, W),
        label_type='v1m',
        audio_source='v2',
        num_classes=71,
        frame_paths=['a'] * T,
        frames=rng.integers(0, 256, (T, H, W, 3), dtype=np.uint8),
        audio=rng.standard_normal((T, 1, 96, 64)).astype(np.float64),
        gt_masks=rng.integers(0, 71, (T, H, W)).astype(np.uint8),
        frame_flags=[True, True, True, False],
        gt_flags=[True, True, False, False])
    results['gt_masks'][2:] = 255
    results.update(overrides)
    return results


def test_pack_shapes_dtypes_values():
    results = _results()
    packed = PackAVSInputs()(dict(results))
    frames, audio = packed['inputs']['frames'], packed['inputs']['audio']
    assert frames.dtype == torch.uint8 and frames.shape == (T, 3, H, W)
    # channel c of frame t at (y, x) is results['frames'][t, y, x, c]
    assert frames[2, 1, 3, 4].item() == results['frames'][2, 3, 4, 1]
    np.testing.assert_array_equal(frames.permute(0, 2, 3, 1).numpy(), results['frames'])
    assert audio.dtype == torch.float32 and audio.shape == (T, 1, 96, 64)
    np.testing.assert_allclose(audio.numpy(), results['audio'].astype(np.float32))

    sample = packed['data_samples']
    assert isinstance(sample, AVSDataSample)
    assert sample.gt_masks.dtype == torch.int64
    np.testing.assert_array_equal(sample.gt_masks.numpy(), results['gt_masks'])
    assert (sample.gt_masks[2:] == 255).all()
    assert sample.frame_flags.dtype == torch.bool
    assert sample.frame_flags.tolist() == [True, True, True, False]
    assert sample.gt_flags.tolist() == [True, True, False, False]


def test_pack_metainfo_default_keys():
    sample = PackAVSInputs()(_results())['data_samples']
    meta = sample.metainfo
    # num_frames is stored, or (while AVSDataSample.num_frames is a read-only property) derived.
    assert sample.num_frames == T and meta.pop('num_frames', T) == T
    assert meta == dict(
        vid='v1',
        subset='avss',
        split='val',
        ori_shape=(9, 11),
        img_shape=(H, W),
        label_type='v1m',
        flip=False,
        audio_source='v2',
        num_classes=71)  # no 'category' (absent); flip defaults to False
    meta = PackAVSInputs()(_results(flip=True, category='dog'))['data_samples'].metainfo
    assert meta['flip'] is True and meta['category'] == 'dog'
    meta = PackAVSInputs(meta_keys=('vid', 'frame_paths'))(_results())['data_samples'].metainfo
    assert meta == dict(vid='v1', frame_paths=['a'] * T)


def test_pack_missing_audio_names_key_and_producer():
    results = _results()
    results.pop('audio')
    with pytest.raises(KeyError, match='audio.*LoadClipAudio'):
        PackAVSInputs()(dict(results))
    packed = PackAVSInputs(allow_missing_audio=True)(dict(results))
    assert set(packed['inputs']) == {'frames'}


def test_pack_rejects_inconsistent_inputs():
    with pytest.raises(ValueError, match='audio'):
        PackAVSInputs()(_results(audio=np.zeros((T - 1, 1, 96, 64), np.float32)))
    with pytest.raises(ValueError, match='gt_masks'):
        PackAVSInputs()(_results(gt_masks=np.zeros((T, H + 1, W), np.uint8)))
    with pytest.raises(ValueError, match='gt_flags'):
        PackAVSInputs()(_results(gt_flags=[True]))
    with pytest.raises(ValueError, match='num_frames'):
        PackAVSInputs()(_results(num_frames=T + 1))
    with pytest.raises(ValueError, match='uint8'):
        PackAVSInputs()(_results(frames=np.zeros((T, H, W, 3), np.float32)))
    results = _results()
    results.pop('frames')
    with pytest.raises(KeyError, match='LoadClipFrames'):
        PackAVSInputs()(results)


def test_pack_without_gt_masks_and_tensor_audio():
    results = _results(audio=torch.ones(T, 1, 96, 64, dtype=torch.float64))
    results.pop('gt_masks')
    packed = PackAVSInputs()(results)
    assert 'gt_masks' not in packed['data_samples']
    assert packed['inputs']['audio'].dtype == torch.float32
    assert packed['inputs']['audio'].sum().item() == T * 96 * 64


def test_pack_blank_flags_when_present():
    assert 'blank_flags' not in PackAVSInputs()(_results())['data_samples']
    blank = [False, False, False, True]
    sample = PackAVSInputs()(_results(blank_flags=blank))['data_samples']
    assert sample.blank_flags.dtype == torch.bool and sample.blank_flags.tolist() == blank
    with pytest.raises(ValueError, match=r'blank_flags has shape \[3\], expected \[4\]'):
        PackAVSInputs()(_results(blank_flags=blank[:3]))
