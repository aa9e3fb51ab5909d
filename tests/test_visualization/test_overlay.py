"""Tests of mmavs.visualization.draw_overlay (the contract the video demo builds on)."""
import numpy as np
import pytest

from mmavs.datasets.palette import voc_palette
from mmavs.visualization import draw_overlay, legend_line_height

BINARY_PALETTE = [(0, 0, 0), (255, 0, 0)]
BINARY_NAMES = ['background', 'sounding object']


def random_frame(height: int = 40, width: int = 52, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def blend(frame: np.ndarray, color, alpha: float) -> np.ndarray:
    """The documented value: (1 - alpha) * frame + alpha * colour, rounded half to even."""
    return np.rint((1 - alpha) * frame.astype(np.float64) + alpha * np.asarray(color, np.float64))


def test_binary_mask_pixels_blended_background_kept() -> None:
    frame = random_frame()
    mask = np.zeros(frame.shape[:2], dtype=np.int64)
    mask[5:25, 10:40] = 1
    out = draw_overlay(frame, mask, BINARY_PALETTE, BINARY_NAMES)
    line = legend_line_height(*frame.shape[:2])
    assert out.dtype == np.uint8 and out.shape == (frame.shape[0] + line, frame.shape[1], 3)
    on = mask == 1
    np.testing.assert_array_equal(out[:40][on], blend(frame, (255, 0, 0), 0.5)[on])
    np.testing.assert_array_equal(out[:40][~on], frame[~on])


def test_exact_halves_round_to_even() -> None:
    frame = np.zeros((4, 4, 3), dtype=np.uint8)
    frame[0, :, 0] = [1, 3, 5, 7]  # with colour 0 and alpha 0.5: 0.5 1.5 2.5 3.5
    out = draw_overlay(frame, np.ones((4, 4), dtype=np.int64), [(0, 0, 0), (0, 0, 0)], ['bg', 'fg'], legend=False)
    assert out[0, :, 0].tolist() == [0, 2, 2, 4]


@pytest.mark.parametrize('alpha', [0.3, 0.8, 0.1])
def test_other_alphas_within_one_of_exact(alpha: float) -> None:
    frame = random_frame(seed=1)
    mask = np.ones(frame.shape[:2], dtype=np.int64)
    out = draw_overlay(frame, mask, [(0, 0, 0), (30, 200, 120)], ['bg', 'fg'], alpha=alpha, legend=False)
    diff = np.abs(out.astype(np.int64) - blend(frame, (30, 200, 120), alpha))
    assert diff.max() <= 1 and (diff == 0).mean() > 0.98


def test_avss_classes_palette_and_legend_strip() -> None:
    frame = random_frame(64, 85)
    palette = voc_palette(71)
    names = [f'class_{i}' for i in range(71)]
    mask = np.zeros((64, 85), dtype=np.int64)
    mask[2:20, 3:30] = 15
    mask[30:60, 40:80] = 3
    mask[0, :] = 255  # ignored: not painted
    out = draw_overlay(frame, mask, palette, names, alpha=0.5)
    line = legend_line_height(64, 85)
    assert out.shape[0] > 64 and (out.shape[0] - 64) % line == 0
    for cls in (3, 15):
        on = mask == cls
        np.testing.assert_array_equal(out[:64][on], blend(frame, palette[cls], 0.5)[on])
    np.testing.assert_array_equal(out[0], frame[0])
    # the legend holds a swatch of exactly each palette colour present, and names beside them
    strip = out[64:]
    side = line - 4
    for cls in (3, 15):
        assert swatch_pixels(strip, palette[cls]) == side * side, cls
    assert swatch_pixels(strip, palette[1]) == 0  # a class not present is not listed
    assert (strip[:, line:] < 128).any(), 'no name drawn'


def swatch_pixels(image: np.ndarray, color) -> int:
    return int((image == np.asarray(color, np.uint8)).all(-1).sum())


def test_legend_lines_flow_in_columns() -> None:
    palette = voc_palette(71)
    frame = random_frame(64, 600)
    mask = np.zeros((64, 600), dtype=np.int64)
    for i, cls in enumerate(range(1, 9)):
        mask[:, i * 60:(i + 1) * 60] = cls
    line = legend_line_height(64, 600)
    wide = draw_overlay(frame, mask, palette, [f'c{i}' for i in range(71)])
    assert wide.shape[0] - 64 < 8 * line  # 8 short names share lines on a wide frame
    narrow = draw_overlay(frame[:, :60], mask[:, :60], palette, [f'c{i}' for i in range(71)])
    assert narrow.shape[0] == 64 + line and swatch_pixels(narrow[64:], palette[1]) == (line - 4) ** 2


def test_legend_names_are_the_ones_given() -> None:
    frame = random_frame(64, 85)
    mask = np.zeros((64, 85), dtype=np.int64)
    mask[10:20, 10:20] = 1
    short = draw_overlay(frame, mask, BINARY_PALETTE, ['bg', 'x'])
    long = draw_overlay(frame, mask, BINARY_PALETTE, ['bg', 'xxxxxxxx'])
    np.testing.assert_array_equal(short[:64], long[:64])
    assert (short[64:] < 128).sum() < (long[64:] < 128).sum()


def test_no_legend_or_no_class_adds_nothing() -> None:
    frame = random_frame()
    mask = np.zeros(frame.shape[:2], dtype=bool)
    np.testing.assert_array_equal(draw_overlay(frame, mask, BINARY_PALETTE, BINARY_NAMES), frame)
    mask[3:6, 3:6] = True
    assert draw_overlay(frame, mask, BINARY_PALETTE, BINARY_NAMES, legend=False).shape == frame.shape
    assert draw_overlay(frame, mask, BINARY_PALETTE, BINARY_NAMES, alpha=0.0, legend=False).tolist() \
        == frame.tolist()


@pytest.mark.parametrize('frame, mask, palette, names, alpha, match', [
    (np.zeros((4, 4, 3), np.float32), np.zeros((4, 4), int), BINARY_PALETTE, BINARY_NAMES, 0.5, 'uint8 RGB'),
    (np.zeros((4, 4), np.uint8), np.zeros((4, 4), int), BINARY_PALETTE, BINARY_NAMES, 0.5, r'\[H, W, 3\]'),
    (np.zeros((4, 4, 3), np.uint8), np.zeros((4, 5), int), BINARY_PALETTE, BINARY_NAMES, 0.5, r'\[4, 5\]'),
    (np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), float), BINARY_PALETTE, BINARY_NAMES, 0.5, 'float64'),
    (np.zeros((4, 4, 3), np.uint8), np.full((4, 4), 2), BINARY_PALETTE, BINARY_NAMES, 0.5, 'class 2'),
    (np.zeros((4, 4, 3), np.uint8), np.ones((4, 4), int), BINARY_PALETTE, ['bg'], 0.5, 'class 1, which has no'),
    (np.zeros((4, 4, 3), np.uint8), np.ones((4, 4), int), [(0, 0, 0), (1, 2)], BINARY_NAMES, 0.5, r'palette\[1\]'),
    (np.zeros((4, 4, 3), np.uint8), np.ones((4, 4), int), BINARY_PALETTE, BINARY_NAMES, 1.5, 'alpha'),
])
def test_bad_inputs_are_named(frame, mask, palette, names, alpha, match) -> None:
    with pytest.raises(ValueError, match=match):
        draw_overlay(frame, mask, palette, names, alpha=alpha)


@pytest.mark.parametrize('alpha', [0.5, 0.3, 0.8])
def test_blend_equals_mmengine_draw_binary_masks(alpha):
    # the array path must give exactly the pixels of MMEngine's Visualizer (the oracle it replaces for speed)
    from mmengine.visualization import Visualizer

    from mmavs.visualization.overlay import blend_masks
    rng = np.random.default_rng(3)
    frame = rng.integers(0, 256, (23, 31, 3), dtype=np.uint8)
    mask = rng.integers(0, 4, (23, 31))
    colors = [(255, 0, 0), (12, 200, 77), (128, 128, 255)]
    visualizer = Visualizer()
    visualizer.set_image(frame)
    visualizer.draw_binary_masks(np.stack([mask == c for c in (1, 2, 3)]), colors=colors, alphas=alpha)
    expected = visualizer.get_image()
    palette = [(0, 0, 0)] + colors
    np.testing.assert_array_equal(blend_masks(frame, mask, [1, 2, 3], palette, alpha), expected)
