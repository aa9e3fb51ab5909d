"""The PASCAL-VOC bit-interleaved colour map used by AVSBench-semantic (AVSS) ``labels_rgb`` masks.

One implementation, two views: :func:`voc_palette_array` (uint8 array, what the synthetic-data
generator paints with) and :func:`voc_palette` (nested lists of ints, what dataset ``metainfo`` and
``LoadClipMasks`` hold). Colour masks are decoded against a palette by exact colour match
(:func:`palette_lookup`, :func:`colours_to_classes`), by ``LoadClipMasks`` (ground truth) and
:func:`mmavs.evaluation.mask_files.read_pred_mask` (saved predictions) alike.
"""
from typing import Dict, List, Sequence, Tuple

import numpy as np
from PIL import Image


def voc_palette_array(num_classes: int = 71) -> np.ndarray:
    """PASCAL-VOC bit-interleaved palette as an array.

    Class ``j``'s colour is built from the bits of ``j`` taken three at a time: bit ``3i`` goes to bit
    ``7 - i`` of red, bit ``3i + 1`` to green and bit ``3i + 2`` to blue. Class 0 (background) is black.

    Args:
        num_classes (int): Number of colours. Defaults to 71 (AVSS: background + 70 classes).

    Returns:
        np.ndarray: uint8 ``[num_classes, 3]`` RGB, one distinct colour per class.
    """
    palette = np.zeros((num_classes, 3), dtype=np.uint8)
    for label in range(num_classes):
        value, shift = label, 7
        while value > 0:
            for channel in range(3):
                palette[label, channel] |= ((value >> channel) & 1) << shift
            value >>= 3
            shift -= 1
    return palette


def voc_palette(num_classes: int = 71) -> List[List[int]]:
    """The same palette as :func:`voc_palette_array`, as ``num_classes`` ``[r, g, b]`` lists of ints.

    Args:
        num_classes (int): Number of colours. Defaults to 71 (AVSS: background + 70 classes).

    Returns:
        list[list[int]]: ``num_classes`` RGB triplets.
    """
    return voc_palette_array(num_classes).tolist()


def palette_lookup(palette: Sequence[Sequence[int]]) -> Dict[int, int]:
    """Look-up table colour code -> class index of a palette (see :func:`colour_codes`).

    Args:
        palette (Sequence[Sequence[int]]): ``C`` RGB triplets (0..255), one distinct colour per class.

    Returns:
        dict[int, int]: ``(r << 16) | (g << 8) | b`` -> class index.

    Raises:
        ValueError: An empty palette, an entry that is not an RGB triplet, or a colour used twice.
    """
    if len(palette) == 0:
        raise ValueError('the palette is empty')
    lut: Dict[int, int] = {}
    for index, colour in enumerate(palette):
        colour = tuple(int(v) for v in colour)
        if len(colour) != 3 or not all(0 <= v <= 255 for v in colour):
            raise ValueError(f'palette entry {index} {colour} is not an RGB triplet')
        code = (colour[0] << 16) | (colour[1] << 8) | colour[2]
        if code in lut:
            raise ValueError(f'palette colour {list(colour)} is used by classes {lut[code]} and {index}')
        lut[code] = index
    return lut


def colour_codes(rgb: np.ndarray) -> np.ndarray:
    """One integer per pixel of an RGB image: ``(r << 16) | (g << 8) | b``.

    Args:
        rgb (np.ndarray): uint8 ``[H, W, 3]``.

    Returns:
        np.ndarray: int32 ``[H, W]``.
    """
    rgb = rgb.astype(np.int32)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def colours_to_classes(rgb: np.ndarray, lut: Dict[int, int]) -> Tuple[np.ndarray, List[Tuple[int, int, int]]]:
    """Class index of every pixel of an RGB image, by exact colour match with a palette.

    Args:
        rgb (np.ndarray): uint8 ``[H, W, 3]``.
        lut (dict[int, int]): From :func:`palette_lookup`.

    Returns:
        tuple[np.ndarray, list[tuple[int, int, int]]]: int64 ``[H, W]`` class indices (-1 where the colour
        is not in the palette) and the colours not in the palette, sorted (empty when all are known).
    """
    codes = colour_codes(rgb)
    uniq, inverse = np.unique(codes, return_inverse=True)
    mapped = np.array([lut.get(int(c), -1) for c in uniq], dtype=np.int64)
    unknown = [((int(c) >> 16) & 255, (int(c) >> 8) & 255, int(c) & 255) for c in uniq[mapped < 0]]
    return mapped[inverse.reshape(codes.shape)], unknown


def _palette_image(lut: Dict[int, int]) -> Image.Image:
    """A mode-P image whose palette entry ``i`` is the colour of class ``i``; unused entries get colours that are
    not in the palette (so that no colour of the palette has two entries)."""
    entries = [None] * 256
    for code, index in lut.items():
        entries[index] = code
    spare = (code for code in range(1 << 24) if code not in lut)
    flat: List[int] = []
    for code in entries:
        code = next(spare) if code is None else code
        flat += [(code >> 16) & 255, (code >> 8) & 255, code & 255]
    image = Image.new('P', (1, 1))
    image.putpalette(flat)
    return image


def image_to_classes(img: Image.Image, lut: Dict[int, int]) -> Tuple[np.ndarray, List[Tuple[int, int, int]]]:
    """:func:`colours_to_classes` of a PIL image, 10-20x faster on masks whose colours are all in the palette.

    Such a mask (the normal case) is mapped by Pillow in C: ``getcolors`` lists its colours, and ``quantize``
    onto a palette image whose entry ``i`` is class ``i``'s colour maps every pixel to the entry of its own
    colour (distance 0; the other entries are distinct colours). Any other mask (an unknown colour, more colours
    than classes, more than 256 classes) goes through :func:`colours_to_classes`, which also names the unknown
    colours. Same result either way (tested against it).

    Args:
        img (PIL.Image.Image): An RGB mask (other modes are converted to RGB first).
        lut (dict[int, int]): From :func:`palette_lookup`.

    Returns:
        tuple: As :func:`colours_to_classes`.
    """
    if img.mode != 'RGB':
        img = img.convert('RGB')
    colours = img.getcolors(maxcolors=len(lut)) if len(lut) <= 256 and max(lut.values()) < 256 else None
    if colours is None or any(((r << 16) | (g << 8) | b) not in lut for _, (r, g, b) in colours):
        return colours_to_classes(np.asarray(img), lut)
    indices = img.quantize(palette=_palette_image(lut), dither=Image.Dither.NONE)
    return np.asarray(indices).astype(np.int64), []


def describe_colours(colours: Sequence[Tuple[int, int, int]], limit: int = 10) -> str:
    """``'[(10, 20, 30), ...] (and N more)'``: the first ``limit`` colours of a list, for messages."""
    more = f' (and {len(colours) - limit} more)' if len(colours) > limit else ''
    return f'{list(colours[:limit])}{more}'
