"""The PASCAL-VOC bit-interleaved colour map used by AVSBench-semantic (AVSS) ``labels_rgb`` masks.

One implementation, two views: :func:`voc_palette_array` (uint8 array, what the synthetic-data
generator paints with) and :func:`voc_palette` (nested lists of ints, what dataset ``metainfo`` and
``LoadClipMasks`` hold).
"""
from typing import List

import numpy as np


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
