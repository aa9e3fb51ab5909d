"""Tests of LoadClipFrames and LoadClipMasks on small files painted in the test."""
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from mmavs.datasets.transforms import LoadClipFrames, LoadClipMasks

H, W = 6, 8


def _save_rgb(path, array):
    Image.fromarray(array, mode='RGB').save(path)
    return str(path)


def _frames_results(tmp_path, num_real=3, num_frames=5, seed=0):
    rng = np.random.default_rng(seed)
    arrays, paths = [], []
    for i in range(num_frames):
        if i < num_real:
            arr = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
            arrays.append(arr)
            paths.append(_save_rgb(tmp_path / f'{i}.png', arr))
        else:
            arrays.append(None)
            paths.append(None)
    results = dict(
        vid='clip0',
        num_frames=num_frames,
        frame_paths=paths,
        frame_flags=[p is not None for p in paths])
    return results, arrays


# ----------------------------------------------------------------------------- frames
@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
def test_load_frames_rgb_and_zero_padding(tmp_path, backend):
    results, arrays = _frames_results(tmp_path)
    out = LoadClipFrames(imdecode_backend=backend)(results)
    frames = out['frames']
    assert frames.dtype == np.uint8 and frames.shape == (5, H, W, 3)
    for i in range(3):  # RGB order, as painted (PNG is lossless)
        np.testing.assert_array_equal(frames[i], arrays[i])
    assert not frames[3:].any()
    assert out['ori_shape'] == (H, W) and out['img_shape'] == (H, W)


def test_load_frames_size_mismatch_names_file(tmp_path):
    results, _ = _frames_results(tmp_path)
    odd = _save_rgb(tmp_path / 'odd.png', np.zeros((H + 1, W, 3), np.uint8))
    results['frame_paths'][2] = odd
    with pytest.raises(ValueError, match='odd.png'):
        LoadClipFrames()(results)


def test_load_frames_missing_and_corrupt_files(tmp_path):
    results, _ = _frames_results(tmp_path)
    results['frame_paths'][1] = str(tmp_path / 'gone.png')
    with pytest.raises(FileNotFoundError, match='gone.png'):
        LoadClipFrames()(results)
    results, _ = _frames_results(tmp_path)
    bad = tmp_path / 'bad.png'
    bad.write_bytes(b'not an image at all')
    results['frame_paths'][0] = str(bad)
    with pytest.raises(ValueError, match='bad.png'):
        LoadClipFrames()(results)


def test_load_frames_flag_disagreement_and_no_real_frame(tmp_path):
    results, _ = _frames_results(tmp_path)
    results['frame_flags'] = [True] * 5
    with pytest.raises(ValueError, match='frame_flags'):
        LoadClipFrames()(results)
    results = dict(vid='v', num_frames=2, frame_paths=[None, None], frame_flags=[False, False])
    with pytest.raises(ValueError, match='no real frame'):
        LoadClipFrames()(results)


# ----------------------------------------------------------------------------- binary masks
def _truth(seed=1):
    return np.random.default_rng(seed).integers(0, 2, (H, W)).astype(bool)


def _save_binary(path, truth, mode):
    if mode == '1':
        img = Image.fromarray(truth)  # bool array -> mode '1'
    elif mode == 'L255':
        img = Image.fromarray(truth.astype(np.uint8) * 255, mode='L')
    elif mode == 'L1':
        img = Image.fromarray(truth.astype(np.uint8), mode='L')
    elif mode == 'P':
        # palette with index 0 WHITE and index 1 black: only the index may decide
        img = Image.fromarray(truth.astype(np.uint8), mode='P')
        img.putpalette([255, 255, 255, 0, 0, 0] + [0] * (254 * 3))
    elif mode == 'RGB':
        rgb = np.zeros((H, W, 3), np.uint8)
        rgb[truth, 2] = 7  # only the blue channel is set, and faintly
        img = Image.fromarray(rgb, mode='RGB')
    elif mode == 'LA':  # luminance decides, alpha (opaque everywhere but varying) does not
        la = np.stack([truth.astype(np.uint8) * 3, np.full((H, W), 200, np.uint8)], -1)
        img = Image.fromarray(la, mode='LA')
    elif mode == 'I;16':
        img = Image.fromarray(truth.astype(np.uint16) * 1000)
    else:
        raise AssertionError(mode)
    img.save(path)
    assert Image.open(path).mode == {'L255': 'L', 'L1': 'L'}.get(mode, mode)
    return str(path)


@pytest.mark.parametrize('mode', ['1', 'L255', 'L1', 'P', 'RGB', 'LA', 'I;16'])
def test_binary_masks_value_above_zero(tmp_path, mode):
    truths = [_truth(s) for s in range(3)]
    paths = [_save_binary(tmp_path / f'm{i}.png', t, mode) for i, t in enumerate(truths)]
    results = dict(
        vid='c',
        num_frames=5,
        mask_paths=paths + [None, None],
        gt_flags=[True, True, True, False, False],
        frames=np.zeros((5, H, W, 3), np.uint8))
    masks = LoadClipMasks(mode='binary')(results)['gt_masks']
    assert masks.dtype == np.uint8 and masks.shape == (5, H, W)
    for i, truth in enumerate(truths):
        np.testing.assert_array_equal(masks[i], truth.astype(np.uint8))
    assert (masks[3:] == 255).all()


def test_s4_style_first_frame_only_gets_255_elsewhere(tmp_path):
    path = _save_binary(tmp_path / 'm.png', _truth(), 'L255')
    results = dict(
        vid='c',
        num_frames=5,
        mask_paths=[path, None, None, None, None],
        gt_flags=[True, False, False, False, False],
        frames=np.zeros((5, H, W, 3), np.uint8))
    masks = LoadClipMasks(ignore_index=255)(results)['gt_masks']
    np.testing.assert_array_equal(masks[0], _truth().astype(np.uint8))
    assert (masks[1:] == 255).all()


def test_binary_unsupported_mode_raises(tmp_path):
    # Every PNG mode is supported; a CMYK image (JPEG content, PIL detects the format) is not.
    Image.new('CMYK', (W, H)).save(tmp_path / 'cmyk.png', format='JPEG')
    assert Image.open(tmp_path / 'cmyk.png').mode == 'CMYK'
    results = dict(vid='c', num_frames=1, mask_paths=[str(tmp_path / 'cmyk.png')], gt_flags=[True])
    with pytest.raises(ValueError, match='cmyk.png.*CMYK'):
        LoadClipMasks()(results)


def test_mask_size_must_match_frames_unless_resized(tmp_path):
    small = np.zeros((H // 2, W // 2), bool)
    small[1, 2] = True
    small[2, 0] = True
    path = _save_binary(tmp_path / 'small.png', small, '1')
    results = dict(
        vid='c',
        num_frames=2,
        mask_paths=[path, None],
        gt_flags=[True, False],
        frames=np.zeros((2, H, W, 3), np.uint8))
    with pytest.raises(ValueError, match='small.png'):
        LoadClipMasks()(dict(results))
    masks = LoadClipMasks(resize_to_frame=True)(dict(results))['gt_masks']
    expected = np.repeat(
        np.repeat(small, 2, axis=0), 2, axis=1).astype(np.uint8)  # exact 2x nearest
    np.testing.assert_array_equal(masks[0], expected)
    assert masks.shape == (2, H, W) and (masks[1] == 255).all()


def test_mask_missing_file_and_corrupt(tmp_path):
    results = dict(
        vid='clipX', num_frames=1, mask_paths=[str(tmp_path / 'nope.png')], gt_flags=[True])
    with pytest.raises(FileNotFoundError, match='nope.png'):
        LoadClipMasks()(results)
    (tmp_path / 'junk.png').write_bytes(b'\x89PNG garbage')
    results['mask_paths'] = [str(tmp_path / 'junk.png')]
    with pytest.raises(ValueError, match='junk.png'):
        LoadClipMasks()(results)


def test_gt_flags_must_agree_with_paths(tmp_path):
    path = _save_binary(tmp_path / 'm.png', _truth(), 'L255')
    results = dict(vid='c', num_frames=2, mask_paths=[path, None], gt_flags=[True, True])
    with pytest.raises(ValueError, match='gt_flags'):
        LoadClipMasks()(results)



def test_blank_frames_flagged_without_file_get_background(tmp_path):
    path = _save_binary(tmp_path / 'm.png', _truth(), 'L255')
    results = dict(vid='c', num_frames=3, mask_paths=[path, None, None], gt_flags=[True, True, False],
                   blank_flags=[False, True, False])
    masks = LoadClipMasks()(results)['gt_masks']
    np.testing.assert_array_equal(masks[0], _truth())
    assert (masks[1] == 0).all() and (masks[2] == 255).all()  # blank: background; no gt: ignored
    frames, _ = _frames_results(tmp_path, num_real=2, num_frames=3)
    frames.update(frame_flags=[True, True, True], blank_flags=[False, False, True])
    assert not LoadClipFrames()(frames)['frames'][2].any()


@pytest.mark.parametrize('blank, match', [
    ([True, False, False], 'mark frames that have a file'),  # frame 0 has a file
    ([False, False, False], 'disagree'),  # frame 1 flagged, no file, not blank
    ([False, True], '2 blank_flags for num_frames=3'),
])
def test_blank_flags_must_agree_with_paths_and_flags(tmp_path, blank, match):
    path = _save_binary(tmp_path / 'm.png', _truth(), 'L255')
    results = dict(vid='c', num_frames=3, mask_paths=[path, None, None], gt_flags=[True, True, False],
                   blank_flags=blank)
    with pytest.raises(ValueError, match=match):
        LoadClipMasks()(results)


# ----------------------------------------------------------------------------- palette masks
# VOC bit-interleaved colours computed by hand: index 1 -> (128, 0, 0), 2 -> (0, 128, 0),
# 15 -> (192, 128, 128) ("person" in VOC), 70 = 0b1_000_110 -> (0, 128, 128) + red bit 5 -> (32, 128, 128).
HAND_COLOURS = {
    0: (0, 0, 0),
    1: (128, 0, 0),
    2: (0, 128, 0),
    15: (192, 128, 128),
    70: (32, 128, 128)
}


def _paint(index_map, colours):
    rgb = np.zeros(index_map.shape + (3, ), np.uint8)
    for index, colour in colours.items():
        rgb[index_map == index] = colour
    return rgb


def _index_map(seed, values):
    return np.random.default_rng(seed).choice(values, size=(H, W))


def test_palette_masks_builtin_voc_71(tmp_path):
    values = list(HAND_COLOURS)
    maps = [_index_map(s, values) for s in range(2)]
    paths = [_save_rgb(tmp_path / f'{i}.png', _paint(m, HAND_COLOURS)) for i, m in enumerate(maps)]
    results = dict(
        vid='u1',
        num_frames=4,
        num_classes=71,
        mask_paths=paths + [None, None],
        gt_flags=[True, True, False, False],
        frames=np.zeros((4, H, W, 3), np.uint8))
    masks = LoadClipMasks(mode='palette')(results)['gt_masks']
    np.testing.assert_array_equal(masks[0], maps[0])
    np.testing.assert_array_equal(masks[1], maps[1])
    assert (masks[2:] == 255).all()


def test_palette_from_results_and_argument(tmp_path):
    own = {0: (10, 20, 30), 1: (200, 0, 5), 2: (0, 0, 0)}
    index_map = _index_map(3, [0, 1, 2])
    path = _save_rgb(tmp_path / 'm.png', _paint(index_map, own))
    palette = [list(own[i]) for i in range(3)]
    results = dict(vid='u', num_frames=1, mask_paths=[path], gt_flags=[True], palette=palette)
    np.testing.assert_array_equal(
        LoadClipMasks(mode='palette')(dict(results))['gt_masks'][0], index_map)
    results.pop('palette')
    np.testing.assert_array_equal(
        LoadClipMasks(mode='palette', palette=palette)(dict(results))['gt_masks'][0], index_map)
    # The built-in VOC palette does not know (10, 20, 30): the error names the file and the colour.
    with pytest.raises(ValueError, match=r'm\.png.*\(10, 20, 30\)'):
        LoadClipMasks(mode='palette')(dict(results))


def test_palette_mode_p_png_and_rgba(tmp_path):
    index_map = _index_map(4, list(HAND_COLOURS))
    # P image whose own palette stores VOC colours at *shuffled* indices: decoding must go by colour.
    order = [70, 2, 0, 15, 1]
    p_indices = np.zeros((H, W), np.uint8)
    flat_palette = []
    for p_index, cls in enumerate(order):
        p_indices[index_map == cls] = p_index
        flat_palette += list(HAND_COLOURS[cls])
    img = Image.fromarray(p_indices, mode='P')
    img.putpalette(flat_palette + [0] * (768 - len(flat_palette)))
    img.save(tmp_path / 'p.png')
    rgba = np.concatenate([_paint(index_map, HAND_COLOURS), np.full((H, W, 1), 17, np.uint8)], -1)
    Image.fromarray(rgba, mode='RGBA').save(tmp_path / 'rgba.png')
    results = dict(
        vid='u',
        num_frames=2,
        mask_paths=[str(tmp_path / 'p.png'), str(tmp_path / 'rgba.png')],
        gt_flags=[True, True])
    masks = LoadClipMasks(mode='palette')(results)['gt_masks']
    np.testing.assert_array_equal(masks[0], index_map)
    np.testing.assert_array_equal(masks[1], index_map)


def test_palette_unknown_colour_names_file_and_colours(tmp_path):
    rgb = _paint(np.zeros((H, W), int), HAND_COLOURS)
    rgb[0, 0] = (1, 2, 3)
    rgb[1, 1] = (128, 0, 1)
    path = _save_rgb(tmp_path / 'weird.png', rgb)
    results = dict(vid='u', num_frames=1, mask_paths=[path], gt_flags=[True], num_classes=71)
    with pytest.raises(ValueError) as err:
        LoadClipMasks(mode='palette')(results)
    message = str(err.value)
    assert 'weird.png' in message and '(1, 2, 3)' in message and '(128, 0, 1)' in message


def test_palette_argument_validation():
    with pytest.raises(ValueError, match='used by classes'):
        LoadClipMasks(mode='palette', palette=[[1, 2, 3], [1, 2, 3]])
    with pytest.raises(ValueError, match='mode'):
        LoadClipMasks(mode='rgb')
    with pytest.raises(ValueError, match='palette'):
        LoadClipMasks(mode='binary', palette=[[0, 0, 0]])


def test_masks_without_frames_take_first_mask_size(tmp_path):
    path = _save_binary(tmp_path / 'm.png', _truth(), 'L255')
    results = dict(vid='c', num_frames=2, mask_paths=[None, path], gt_flags=[False, True])
    masks = LoadClipMasks()(results)['gt_masks']
    assert masks.shape == (2, H, W) and (masks[0] == 255).all()
    assert osp.basename(path) == 'm.png'


# ----------------------------------------------------------------------------- official (legacy) mask decoding
@pytest.fixture
def warnings_log():
    """Messages of WARNING level logged through the current MMLogger while the test runs."""
    import logging

    from mmengine.logging import MMLogger

    records = []

    class _Keep(logging.Handler):

        def emit(self, record):
            records.append(record.getMessage())

    logger = MMLogger.get_current_instance()
    handler = _Keep(level=logging.WARNING)
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def _grey_mask(path, values):
    Image.fromarray(np.asarray(values, np.uint8), mode='L').save(path)
    return str(path)


def _mask_results(paths, subset=None):
    results = dict(vid='c', num_frames=len(paths), mask_paths=list(paths), gt_flags=[True] * len(paths))
    if subset is not None:
        results['subset'] = subset
    return results


def _official_s4(path):
    # avs_scripts/avs_s4/dataloader.py: Image.open(path).convert('1') then ToTensor -> 0 / 1
    return np.asarray(Image.open(path).convert('1')).astype(np.uint8)


def _official_ms3(path):
    # avs_scripts/avs_ms3/dataloader.py: Image.open(path).convert('P') then ToTensor -> index / 255
    return np.asarray(Image.open(path).convert('P')).astype(np.float64) / 255.0


def test_legacy_s4_equals_pil_convert_1_with_its_dithering(tmp_path):
    rng = np.random.default_rng(4)
    grey = _grey_mask(tmp_path / 'grey.png', np.full((H, W), 128))
    noisy = _grey_mask(tmp_path / 'noisy.png', rng.integers(0, 256, (H, W)))
    rgb = np.zeros((H, W, 3), np.uint8)
    rgb[:, W // 2:] = (255, 0, 0)  # red foreground: grey level 76 for PIL
    colour = _save_rgb(tmp_path / 'red.png', rgb)
    paths = [grey, noisy, colour]
    masks = LoadClipMasks(binarize='legacy_s4')(_mask_results(paths))['gt_masks']
    for t, path in enumerate(paths):
        np.testing.assert_array_equal(masks[t], _official_s4(path))
    # dithering, not a plain threshold: a uniform grey of 128 becomes a pattern of both values
    assert 0 < masks[0].mean() < 1
    assert not np.array_equal(masks[1], (np.asarray(Image.open(noisy)) >= 128).astype(np.uint8))


def test_nonzero_background_legacy_s4_versus_nonzero(tmp_path):
    truth = _truth(7)
    path = _grey_mask(tmp_path / 'bg1.png', np.where(truth, 255, 1))  # background stored as 1
    legacy = LoadClipMasks(binarize='legacy_s4')(_mask_results([path]))['gt_masks'][0]
    np.testing.assert_array_equal(legacy, truth.astype(np.uint8))
    nonzero = LoadClipMasks(binarize='nonzero')(_mask_results([path]))['gt_masks'][0]
    assert nonzero.all()  # the value > 0 rule: everything is foreground


@pytest.mark.parametrize('kind', ['L255', 'Lbg1', 'Lgrey', 'RGB', 'P01'])
def test_legacy_ms3_equals_pil_convert_p_over_255(tmp_path, kind):
    truth = _truth(8)
    if kind == 'L255':
        path = _grey_mask(tmp_path / 'm.png', truth * 255)
    elif kind == 'Lbg1':
        path = _grey_mask(tmp_path / 'm.png', np.where(truth, 255, 1))
    elif kind == 'Lgrey':
        path = _grey_mask(tmp_path / 'm.png', np.random.default_rng(9).integers(0, 256, (H, W)))
    elif kind == 'RGB':  # white on black, stored as RGB: PIL maps white to web-palette index 225
        path = _save_rgb(tmp_path / 'm.png', np.repeat((truth * 255).astype(np.uint8)[..., None], 3, -1))
    else:  # indices 0 / 1 with black / white colours: the official target is 1 / 255
        path = _save_binary(tmp_path / 'm.png', truth, 'P')
    official = _official_ms3(path)
    mask = LoadClipMasks(binarize='legacy_ms3')(_mask_results([path]))['gt_masks'][0]
    np.testing.assert_array_equal(mask, (official > 0.5).astype(np.uint8))
    if kind in ('L255', 'Lbg1'):
        assert set(np.unique(official)) <= {0.0, 1.0, 1 / 255}
        np.testing.assert_array_equal(mask, truth.astype(np.uint8))
    if kind == 'P01':
        assert not mask.any()  # 1 / 255 is (almost) background for the official loss and metric


def test_legacy_picks_the_subset_rule(tmp_path):
    # palette indices 0 / 1 coloured black / white: S4 (convert('1')) sees white, MS3 sees 1 / 255
    truth = _truth(10)
    img = Image.fromarray(truth.astype(np.uint8), mode='P')
    img.putpalette([0, 0, 0, 255, 255, 255] + [0] * (254 * 3))
    path = str(tmp_path / 'p.png')
    img.save(path)
    transform = LoadClipMasks(binarize='legacy')
    s4 = transform(_mask_results([path], subset='s4'))['gt_masks'][0]
    ms3 = transform(_mask_results([path], subset='ms3'))['gt_masks'][0]
    np.testing.assert_array_equal(s4, _official_s4(path))
    np.testing.assert_array_equal(s4, truth.astype(np.uint8))
    np.testing.assert_array_equal(ms3, (_official_ms3(path) > 0.5).astype(np.uint8))
    assert not ms3.any()
    with pytest.raises(ValueError, match=r'legacy.*avss.*legacy_s4'):
        transform(_mask_results([path], subset='avss'))
    with pytest.raises(ValueError, match='subset'):
        transform(_mask_results([path]))


def test_not_two_level_mask_is_reported_once_per_instance(tmp_path, warnings_log):
    clean = _grey_mask(tmp_path / 'clean.png', _truth(11) * 255)
    grey1 = _grey_mask(tmp_path / 'grey1.png', np.where(_truth(12), 200, 0))
    grey2 = _grey_mask(tmp_path / 'grey2.png', np.where(_truth(13), 255, 3))
    transform = LoadClipMasks(binarize='legacy_s4')
    transform(_mask_results([clean]))
    assert warnings_log == []
    transform(_mask_results([clean, grey1, grey2]))
    transform(_mask_results([grey2]))
    assert len(warnings_log) == 1
    assert 'grey1.png' in warnings_log[0] and '200' in warnings_log[0]
    assert 'two-level' in warnings_log[0] and 'legacy_s4' in warnings_log[0]
    LoadClipMasks(binarize='nonzero')(_mask_results([grey2]))  # another instance reports again
    assert len(warnings_log) == 2 and 'grey2.png' in warnings_log[1]


def test_binarize_argument_validation():
    with pytest.raises(ValueError, match='binarize'):
        LoadClipMasks(binarize='otsu')
    with pytest.raises(ValueError, match='binarize'):
        LoadClipMasks(mode='palette', binarize='nonzero')
    assert LoadClipMasks().binarize == 'nonzero'
    assert "binarize='legacy'" in repr(LoadClipMasks(binarize='legacy'))


# ----------------------------------------------------------------------------- EXIF orientation
def _save_with_orientation(path, array, fmt, orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation  # Orientation
    Image.fromarray(array, mode='RGB').save(path, format=fmt, exif=exif.tobytes())
    assert Image.open(path).getexif().get(0x0112) == orientation
    return str(path)


@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
@pytest.mark.parametrize('fmt', ['JPEG', 'PNG'])
@pytest.mark.parametrize('orientation', [6, 3])
def test_frames_ignore_exif_orientation_like_the_official_loader(tmp_path, backend, fmt,
                                                                 orientation):
    rng = np.random.default_rng(orientation)
    # smooth content so that JPEG decoders agree closely; H != W so that a rotation changes the shape
    yy, xx = np.mgrid[0:H, 0:W]
    array = np.stack([xx * 30, yy * 40, (xx + yy) * 15], -1).astype(np.uint8)
    array[0, 0] = rng.integers(0, 256, 3)
    path = _save_with_orientation(tmp_path / f'f.{fmt.lower()}', array, fmt, orientation)
    mask = _save_binary(tmp_path / 'm.png', _truth(), 'L255')  # W x H like the stored frame
    results = dict(
        vid='exif', num_frames=1, frame_paths=[path], frame_flags=[True], mask_paths=[mask],
        gt_flags=[True])
    out = LoadClipMasks()(LoadClipFrames(imdecode_backend=backend)(results))
    official = np.asarray(Image.open(path).convert('RGB'))  # PIL does not apply the tag
    assert official.shape == (H, W, 3)
    assert out['frames'].shape == (1, H, W, 3) and out['img_shape'] == (H, W)
    if fmt == 'PNG' or backend == 'pillow':
        np.testing.assert_array_equal(out['frames'][0], official)
    else:  # two JPEG decoders (OpenCV's and PIL's libjpeg) may differ by a grey level
        assert np.abs(out['frames'][0].astype(int) - official).max() <= 2
    assert out['gt_masks'].shape == (1, H, W)


def test_frame_decoder_validation():
    with pytest.raises(ValueError, match='imdecode_backend'):
        LoadClipFrames(imdecode_backend='turbojpeg')
