"""The colour palette of AVSBench-semantic (AVSS) ``labels_rgb`` masks.

The generator paints with the dataset side's palette (:mod:`mmavs.datasets.palette`), so what it
writes is what ``LoadClipMasks(mode='palette')`` decodes.
"""
from ..palette import voc_palette_array

#: uint8 ``[num_classes, 3]`` AVSS palette (defaults to 71 colours); the name the generator uses.
avss_palette = voc_palette_array

__all__ = ['avss_palette']
