"""Tests of the clip geometric transforms: identical operation on all frames and masks."""
import numpy as np
import pytest
from PIL import Image

from mmavs.datasets.transforms import ClipCenterCrop, ClipRandomCrop, ClipRandomFlip, ClipResize, ClipResizeShortSide

T = 3


def _clip(h=12, w=16, seed=0, pad_last=True):
    """Random frames; mask = red channel > 127 (a thresholded channel of the frame); 255 on frame 1."""
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 256, (T, h, w, 3), dtype=np.uint8)
    if pad_last:
        frames[-1] = 0
    masks = (frames[..., 0] > 127).astype(np.uint8)
    masks[1] = 255
    return dict(vid='c', frames=frames, gt_masks=masks, img_shape=(h, w), ori_shape=(h, w))


def _assert_consistent(results):
    """The invariant: the mask is still exactly the thresholded red channel of its frame."""
    frames, masks = results['frames'], results['gt_masks']
    assert masks.shape == frames.shape[:3]
    assert results['img_shape'] == frames.shape[1:3]
    for t in (0, 2):
        np.testing.assert_array_equal(masks[t], (frames[t, ..., 0] > 127).astype(np.uint8))
    assert (masks[1] == 255).all()


@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
@pytest.mark.parametrize('scale', [(7, 5), (40, 30), 9])
def test_resize_nearest_keeps_frame_mask_consistency(backend, scale):
    results = ClipResize(scale, interpolation='nearest', backend=backend)(_clip())
    size = (scale, scale) if isinstance(scale, int) else scale
    assert results['frames'].shape == (T, size[1], size[0], 3)
    _assert_consistent(results)
    assert results['scale_factor'] == pytest.approx((size[0] / 16, size[1] / 12))


def test_resize_bilinear_matches_pillow_official_resize_and_keeps_padding():
    """Val / test AVSS transform: PIL bilinear for frames and PIL nearest for masks (official code)."""
    clip = _clip(h=20, w=30)
    original = {k: v.copy() for k, v in clip.items() if k in ('frames', 'gt_masks')}
    out = ClipResize(11, backend='pillow')(clip)
    for t in range(T):
        ref = np.asarray(Image.fromarray(original['frames'][t]).resize((11, 11), Image.BILINEAR))
        np.testing.assert_array_equal(out['frames'][t], ref)
        ref_m = np.asarray(Image.fromarray(original['gt_masks'][t]).resize((11, 11), Image.NEAREST))
        np.testing.assert_array_equal(out['gt_masks'][t], ref_m)
    assert not out['frames'][-1].any()  # padded frame stays zero
    assert set(np.unique(out['gt_masks'])) <= {0, 1, 255}


def test_resize_keep_ratio_bound():
    # 16x12 (WxH) bounded by long edge <= 40 and short edge <= 20: factor min(40/16, 20/12) = 5/3.
    out = ClipResize((40, 20), keep_ratio=True, interpolation='nearest')(_clip())
    # height 12 * 5/3 = 20; width 16 * 5/3 = 26.67, rounded to 27 (mmcv rounds half up)
    assert out['img_shape'] == (20, 27)
    _assert_consistent(out)


def _official_crop_resize(img: Image.Image, s: int, is_mask: bool) -> np.ndarray:
    """AVSBench avss `crop_resize_img`, written out here as the reference."""
    w, h = img.size
    if w > h:
        oh, ow = s, int(1.0 * w * s / h)
    else:
        ow, oh = s, int(1.0 * h * s / w)
    img = img.resize((ow, oh), Image.NEAREST if is_mask else Image.BILINEAR)
    w, h = img.size
    x1, y1 = int(round((w - s) / 2.)), int(round((h - s) / 2.))
    return np.asarray(img.crop((x1, y1, x1 + s, y1 + s)))


@pytest.mark.parametrize('hw', [(30, 50), (45, 30), (24, 24)])
def test_resize_short_side_matches_official_train_transform(hw):
    h, w = hw
    clip = _clip(h=h, w=w, seed=3)
    original = {k: clip[k].copy() for k in ('frames', 'gt_masks')}
    out = ClipResizeShortSide(20, backend='pillow')(clip)
    assert out['frames'].shape == (T, 20, 20, 3) and out['img_shape'] == (20, 20)
    for t in range(T):
        np.testing.assert_array_equal(
            out['frames'][t],
            _official_crop_resize(Image.fromarray(original['frames'][t]), 20, False))
        np.testing.assert_array_equal(
            out['gt_masks'][t],
            _official_crop_resize(Image.fromarray(original['gt_masks'][t]), 20, True))


def test_resize_short_side_sizes_by_hand():
    # w=50, h=30, s=20: new w = int(50 * 20 / 30) = 33; x1 = round(6.5) = 6 (half to even).
    out = ClipResizeShortSide(20, interpolation='nearest')(_clip(h=30, w=50))
    assert out['crop_bbox'] == (6, 0, 26, 20)
    _assert_consistent(out)
    out = ClipResizeShortSide(20, center_crop=False, interpolation='nearest')(_clip(h=30, w=50))
    assert out['img_shape'] == (20, 33)
    _assert_consistent(out)


def test_center_crop_offsets_by_hand():
    clip = _clip(h=12, w=9)
    frames = clip['frames'].copy()
    out = ClipCenterCrop((4, 6))(clip)
    # x1 = round((9 - 4) / 2) = round(2.5) = 2, y1 = round(3) = 3
    np.testing.assert_array_equal(out['frames'], frames[:, 3:9, 2:6])
    assert out['crop_bbox'] == (2, 3, 6, 9) and out['img_shape'] == (6, 4)
    _assert_consistent(out)


def test_random_crop_same_window_for_all_frames():
    np.random.seed(7)
    clip = _clip(h=12, w=16)
    frames = clip['frames'].copy()
    out = ClipRandomCrop(5)(clip)
    x1, y1, x2, y2 = out['crop_bbox']
    assert (x2 - x1, y2 - y1) == (5, 5) and 0 <= x1 <= 11 and 0 <= y1 <= 7
    np.testing.assert_array_equal(out['frames'], frames[:, y1:y2, x1:x2])
    _assert_consistent(out)
    seen = set()
    for _ in range(30):
        seen.add(ClipRandomCrop(5)(_clip())['crop_bbox'])
    assert len(seen) > 1  # the window does move between calls


@pytest.mark.parametrize('transform', [ClipCenterCrop(20), ClipRandomCrop((17, 3))])
def test_crop_larger_than_frame_raises(transform):
    with pytest.raises(ValueError, match='exceeds'):
        transform(_clip(h=12, w=16))


@pytest.mark.parametrize('direction,axis', [('horizontal', 2), ('vertical', 1)])
def test_flip_all_or_nothing(direction, axis):
    clip = _clip()
    frames, masks = clip['frames'].copy(), clip['gt_masks'].copy()
    out = ClipRandomFlip(prob=1.0, direction=direction)(clip)
    np.testing.assert_array_equal(out['frames'], np.flip(frames, axis=axis))
    np.testing.assert_array_equal(out['gt_masks'], np.flip(masks, axis=axis))
    assert out['flip'] is True and out['flip_direction'] == direction
    _assert_consistent(out)
    out = ClipRandomFlip(prob=0.0)(_clip())
    np.testing.assert_array_equal(out['frames'], frames)
    assert out['flip'] is False and out['flip_direction'] is None


def test_flip_probability_roughly_half():
    np.random.seed(0)
    flips = [ClipRandomFlip(0.5)(_clip())['flip'] for _ in range(200)]
    assert 60 < sum(flips) < 140


def test_transforms_without_masks_and_bad_args():
    clip = _clip()
    clip.pop('gt_masks')
    out = ClipResize((8, 6))(clip)
    assert out['frames'].shape == (T, 6, 8, 3) and 'gt_masks' not in out
    with pytest.raises(KeyError, match='LoadClipFrames'):
        ClipResize(8)(dict(vid='x'))
    with pytest.raises(ValueError):
        ClipResize((0, 4))
    with pytest.raises(ValueError):
        ClipRandomFlip(direction='diagonal')
    with pytest.raises(ValueError):
        ClipResize(4, backend='turbojpeg')


def _captioned_clip():
    clip = _clip()
    clip['captions'] = dict(
        video='A dog on the left and a car on the right.',
        segments=['Left: a dog. RIGHT: a car.', 'the leftmost cat, a left-hand drive car'],
        frames=['a bright light' for _ in range(T - 1)] + ['a dog to the left of a car'],
        frame_segment=[0] * T)
    return clip


def test_horizontal_flip_swaps_left_right_in_captions():
    clip = _captioned_clip()
    original = clip['captions']
    before = {k: (list(v) if isinstance(v, list) else v) for k, v in original.items()}
    out = ClipRandomFlip(prob=1.0)(clip)
    caps = out['captions']
    assert caps['video'] == 'A dog on the right and a car on the left.'
    assert caps['segments'] == ['Right: a dog. LEFT: a car.', 'the rightmost cat, a right-hand drive car']
    assert caps['frames'][-1] == 'a dog to the right of a car'
    assert caps['frames'][0] == 'a bright light'  # "bright" contains "right" but is another word
    assert caps['frame_segment'] == [0] * T
    assert original == before  # the input dict (the dataset's copy) is not modified
    # flipping twice restores the text; no flip leaves it alone
    twice = ClipRandomFlip(prob=1.0)(dict(out))
    assert twice['captions']['video'] == before['video'] and twice['captions']['segments'] == before['segments']
    assert ClipRandomFlip(prob=0.0)(_captioned_clip())['captions']['video'] == before['video']


def test_vertical_flip_swaps_vertical_words_only():
    out = ClipRandomFlip(prob=1.0, direction='vertical')(_captioned_clip())
    assert out['captions']['video'] == 'A dog on the left and a car on the right.'
    clip = _captioned_clip()
    clip['captions']['video'] = 'a bird above a boat at the top, moving up'
    out = ClipRandomFlip(prob=1.0, direction='vertical')(clip)
    assert out['captions']['video'] == 'a bird below a boat at the bottom, moving down'


def test_flip_caption_word_options():
    out = ClipRandomFlip(prob=1.0, swap_caption_words=False)(_captioned_clip())
    assert out['captions']['video'] == 'A dog on the left and a car on the right.'
    out = ClipRandomFlip(prob=1.0, swap_caption_words={'east': 'west'})(_captioned_clip())
    assert out['captions']['video'] == 'A dog on the left and a car on the right.'
    clip = _captioned_clip()
    clip['captions']['video'] = 'West of the East river'
    assert ClipRandomFlip(prob=1.0, swap_caption_words={'east': 'west'})(clip)['captions']['video'] == \
        'East of the West river'
    for bad in ({'left': 'left'}, {'left': 'right', 'right': 'up'}, {'two words': 'x'}, 'yes'):
        with pytest.raises(ValueError, match='swap_caption_words'):
            ClipRandomFlip(swap_caption_words=bad)
