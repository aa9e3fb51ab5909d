"""image_to_classes (Pillow fast path) equals colours_to_classes (numpy) on every kind of mask."""
import numpy as np
import pytest
from PIL import Image

from mmavs.datasets.palette import colours_to_classes, image_to_classes, palette_lookup, voc_palette_array


@pytest.mark.parametrize('num_classes', [71, 5])
@pytest.mark.parametrize('unknown', [0, 1, 3])
def test_fast_path_equals_the_exact_colour_match(num_classes, unknown):
    rng = np.random.default_rng(num_classes + unknown)
    palette = voc_palette_array(num_classes)
    lut = palette_lookup(palette)
    index = rng.integers(0, num_classes, (37, 53))  # every class, noisy
    index[:10] = 0
    rgb = palette[index].copy()
    for k in range(unknown):  # colours no class has (VOC colours are multiples of 32 plus 0 / 64 / 128 ...)
        rgb[5 + k, 7] = (1 + k, 2, 3)
    expected, expected_unknown = colours_to_classes(rgb, lut)
    for img in (Image.fromarray(rgb), Image.fromarray(rgb).convert('RGBA')):
        classes, found = image_to_classes(img, lut)
        assert classes.dtype == np.int64
        np.testing.assert_array_equal(classes, expected)
        assert found == expected_unknown
    if unknown == 0:
        assert (expected >= 0).all() and np.array_equal(expected, index)


def test_palette_mode_png_and_few_colours(tmp_path):
    palette = voc_palette_array(71)
    lut = palette_lookup(palette)
    index = np.zeros((8, 9), np.uint8)
    index[2:5, 3:7] = 70
    img = Image.fromarray(index, mode='P')
    img.putpalette(palette.reshape(-1).tolist())
    img.save(tmp_path / 'm.png')
    classes, unknown = image_to_classes(Image.open(tmp_path / 'm.png'), lut)
    np.testing.assert_array_equal(classes, index.astype(np.int64))
    assert unknown == []
