"""Decoding rules of ground-truth mask PNGs, shared by :class:`~mmavs.datasets.transforms.LoadClipMasks`
and the dataset checker (``tools/dataset_converters/check_avsbench.py``), so both judge a mask alike.

Binary masks (S4 / MS3) are turned into 0 / 1 by a rule (see ``LoadClipMasks``); colour masks (AVSS
``labels_rgb``) are looked up in a palette. The functions here take an opened PIL image and return arrays;
they raise ValueError naming the file when the image cannot be decoded by the rule.
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np
from PIL import Image

from .palette import image_to_classes

#: Binarisation rules of LoadClipMasks(mode='binary').
BINARIZE_RULES: Tuple[str, ...] = ('legacy', 'legacy_s4', 'legacy_ms3', 'nonzero')
#: The official rule of each binary subset (``results['subset']``), picked by ``binarize='legacy'``.
LEGACY_BINARIZE: Dict[str, str] = {'s4': 'legacy_s4', 'ms3': 'legacy_ms3'}
#: What each concrete rule thresholds (for messages).
LEVELS_DESCRIPTION: Dict[str, str] = {
    'legacy_s4': 'grey levels',
    'legacy_ms3': 'palette indices (convert("P"))',
    'nonzero': 'values',
}
#: What each concrete rule does with levels other than 0 and 255 (for messages).
RULE_CONSEQUENCE: Dict[str, str] = {
    'legacy_s4': ('PIL convert("1"), as the official S4 loader, dithers grey levels (Floyd-Steinberg), so '
                  'grey areas become a mix of foreground and background'),
    'legacy_ms3': ('the official MS3 loader uses index / 255 as a soft target; here index >= 128 is '
                   'foreground and the rest background'),
    'nonzero': ('every non-zero value is foreground; the official loaders (binarize="legacy") decode such a '
                'mask differently'),
}
#: PNG modes whose stored value the 'nonzero' rule reads directly.
BINARY_VALUE_MODES: Tuple[str, ...] = ('1', 'L', 'P', 'I', 'I;16')
#: PNG modes a colour mask may have (converted to RGB with PIL first).
PALETTE_MASK_MODES: Tuple[str, ...] = ('RGB', 'P', 'PA', 'L', '1', 'LA', 'RGBA')


@dataclass
class BinaryDecoding:
    """A binary mask decoded by a rule.

    Attributes:
        mask (np.ndarray): uint8 0 / 1 ``[H, W]``.
        levels (np.ndarray): The values the rule thresholds, ``[H, W]`` (or ``[H, W, 3]`` for RGB masks
            under 'nonzero').
        rule (str): The concrete rule ('legacy_s4', 'legacy_ms3' or 'nonzero').
    """

    mask: np.ndarray
    levels: np.ndarray
    rule: str

    def extra_levels(self) -> Optional[np.ndarray]:
        """The distinct thresholded values if they are not only 0 and 255 (not strictly two-level), else None."""
        values = np.unique(self.levels)
        return None if np.isin(values, (0, 255)).all() else values

    def describe_levels(self, path: str, values: np.ndarray) -> str:
        """One sentence: the file is not two-level, its values, and what the rule does with them."""
        shown = ', '.join(str(int(v)) for v in values[:8]) + (', ...' if values.size > 8 else '')
        return (f'mask "{path}" is not strictly two-level: its {LEVELS_DESCRIPTION[self.rule]} are '
                f'{{{shown}}} ({values.size} distinct), not only 0 and 255; rule {self.rule!r}: '
                f'{RULE_CONSEQUENCE[self.rule]}')


def pil_convert(img: Image.Image, mode: str, path: str, owner: str) -> Image.Image:
    """``img.convert(mode)`` with PIL's defaults, raising a ValueError naming the file on failure."""
    try:
        return img.convert(mode)
    except ValueError as e:  # PIL: "conversion from X to Y not supported"
        raise ValueError(
            f'{owner}: mask "{path}" (PIL mode {img.mode!r}) cannot be converted to {mode!r}: {e}') from None


def _nonzero_values(img: Image.Image, path: str, owner: str) -> np.ndarray:
    """The stored values the 'nonzero' rule tests, ``[H, W]`` or ``[H, W, 3]``."""
    mode = img.mode
    if mode == '1':
        return np.asarray(img, dtype=np.uint8) * 255
    if mode in BINARY_VALUE_MODES:
        return np.asarray(img)
    if mode == 'LA':
        return np.asarray(img)[..., 0]
    if mode in ('RGB', 'RGBA'):
        return np.asarray(img)[..., :3]
    raise ValueError(
        f'{owner}: mask "{path}" has the unsupported PNG mode {mode!r} for binary masks '
        f'(supported: {BINARY_VALUE_MODES + ("LA", "RGB", "RGBA")})')


def decode_binary_mask(img: Image.Image, path: str, rule: str, owner: str) -> BinaryDecoding:
    """Binarise an opened mask by a concrete rule ('legacy_s4', 'legacy_ms3' or 'nonzero').

    Args:
        img (PIL.Image.Image): The mask, loaded.
        path (str): Its file (for messages).
        rule (str): See ``LoadClipMasks`` for the three rules.
        owner (str): Who decodes (for messages).

    Returns:
        BinaryDecoding: The 0 / 1 mask ``[H, W]`` and the levels the rule thresholded.
    """
    if rule == 'legacy_s4':
        # PIL's defaults (Floyd-Steinberg dithering), exactly as the official S4 loader
        mask = np.asarray(pil_convert(img, '1', path, owner), dtype=np.uint8)
        levels = np.asarray(pil_convert(img, 'L', path, owner))
    elif rule == 'legacy_ms3':
        levels = np.asarray(pil_convert(img, 'P', path, owner))
        mask = (levels >= 128).astype(np.uint8)
    elif rule == 'nonzero':
        levels = _nonzero_values(img, path, owner)
        mask = (levels > 0).astype(np.uint8)
        if mask.ndim == 3:
            mask = mask.any(axis=-1).astype(np.uint8)
    else:
        raise ValueError(f'{owner}: unknown binarisation rule {rule!r}; expected one of '
                         f'{BINARIZE_RULES[1:]}')
    return BinaryDecoding(mask=mask, levels=levels, rule=rule)


def decode_colour_mask(img: Image.Image, path: str, lut: Dict[int, int],
                       owner: str) -> Tuple[np.ndarray, List[Tuple[int, int, int]]]:
    """Class indices of a colour mask, as the official AVSS loader reads it (PIL ``convert('RGB')``).

    Args:
        img (PIL.Image.Image): The mask, loaded.
        path (str): Its file (for messages).
        lut (dict[int, int]): Colour code -> class index (:func:`mmavs.datasets.palette.palette_lookup`).
        owner (str): Who decodes (for messages).

    Returns:
        tuple[np.ndarray, list]: int64 ``[H, W]`` class indices (-1 where the colour is not in the
        palette) and the colours not in the palette.
    """
    if img.mode not in PALETTE_MASK_MODES:
        raise ValueError(f'{owner}: mask "{path}" has the unsupported PNG mode {img.mode!r} for colour masks')
    return image_to_classes(img, lut)
