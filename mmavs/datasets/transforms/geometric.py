"""Geometric transforms applied identically to every frame and mask of a clip.

All transforms read ``frames`` (np.uint8 ``[T, H, W, 3]``) and, when present, ``gt_masks``
(np.uint8 ``[T, H, W]``), apply the same operation to each frame (bilinear by default) and each mask
(always nearest, so class indices and the ignore value 255 survive), and update ``img_shape``
(``(H, W)``). Padded (all-zero) frames stay all zero.
"""
import re
from typing import Callable, Dict, Sequence, Tuple, Union

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform

from mmavs.registry import TRANSFORMS

_BACKENDS = ('cv2', 'pillow')


def _as_size(value: Union[int, Sequence[int]], name: str, owner: str) -> Tuple[int, int]:
    """``int`` -> ``(v, v)``; ``(w, h)`` -> ``(w, h)``; positive integers only."""
    if isinstance(value, int):
        size = (value, value)
    else:
        size = tuple(int(v) for v in value)
    if len(size) != 2 or min(size) < 1:
        raise ValueError(f'{owner}: {name} must be a positive int or (w, h), got {value!r}')
    return size  # type: ignore[return-value]


def _map_clip(results: dict, frame_fn: Callable[[np.ndarray], np.ndarray],
              mask_fn: Callable[[np.ndarray], np.ndarray], owner: str) -> None:
    """Apply ``frame_fn`` to each frame and ``mask_fn`` to each mask; update ``img_shape``."""
    if 'frames' not in results:
        raise KeyError(f'{owner}: results lack "frames"; put LoadClipFrames before {owner}')
    frames = results['frames']
    results['frames'] = np.stack([np.ascontiguousarray(frame_fn(f)) for f in frames])
    if results.get('gt_masks') is not None:
        results['gt_masks'] = np.stack(
            [np.ascontiguousarray(mask_fn(m)) for m in results['gt_masks']])
        if results['gt_masks'].shape[1:3] != results['frames'].shape[1:3]:
            raise RuntimeError(
                f'{owner}: frames and masks differ in size after the transform '
                f'({results["frames"].shape[1:3]} vs {results["gt_masks"].shape[1:3]})')
    results['img_shape'] = tuple(results['frames'].shape[1:3])


def _resize_clip(results: dict, size: Tuple[int, int], interpolation: str, backend: str,
                 owner: str) -> None:
    """Resize every frame (``interpolation``) and mask (nearest) to ``size`` = (w, h)."""
    h, w = results['frames'].shape[1:3]
    _map_clip(results,
              lambda f: mmcv.imresize(f, size, interpolation=interpolation, backend=backend),
              lambda m: mmcv.imresize(m, size, interpolation='nearest', backend=backend), owner)
    old = results.get('scale_factor', (1.0, 1.0))
    results['scale_factor'] = (old[0] * size[0] / w, old[1] * size[1] / h)


def _crop_clip(results: dict, x1: int, y1: int, crop_w: int, crop_h: int, owner: str) -> None:
    """Crop the box ``[x1, x1 + crop_w) x [y1, y1 + crop_h)`` from every frame and mask."""
    bbox = np.array([x1, y1, x1 + crop_w - 1, y1 + crop_h - 1])  # mmcv.imcrop: inclusive corners
    _map_clip(results, lambda f: mmcv.imcrop(f, bbox), lambda m: mmcv.imcrop(m, bbox), owner)
    results['crop_bbox'] = (x1, y1, x1 + crop_w, y1 + crop_h)


def _frame_size(results: dict, owner: str) -> Tuple[int, int]:
    """``(H, W)`` of the clip's frames; a clear error when ``frames`` was not loaded."""
    if 'frames' not in results:
        raise KeyError(f'{owner}: results lack "frames"; put LoadClipFrames before {owner}')
    return tuple(results['frames'].shape[1:3])


def _centre_corner(height: int, width: int, crop_w: int, crop_h: int) -> Tuple[int, int]:
    """Top-left ``(x1, y1)`` of a centred crop, rounded as the official AVSS code (half to even)."""
    return int(round((width - crop_w) / 2.)), int(round((height - crop_h) / 2.))


def _check_crop(results: dict, crop_size: Tuple[int, int], owner: str) -> Tuple[int, int]:
    h, w = _frame_size(results, owner)
    if crop_size[0] > w or crop_size[1] > h:
        raise ValueError(
            f'{owner}: crop size {crop_size[0]}x{crop_size[1]} (WxH) exceeds the clip "'
            f'{results.get("vid")}" frame size {w}x{h}; resize first')
    return h, w


def _check_backend(backend: str, owner: str) -> str:
    if backend not in _BACKENDS:
        raise ValueError(f'{owner}: backend must be one of {_BACKENDS}, got {backend!r}')
    return backend


@TRANSFORMS.register_module()
class ClipResize(BaseTransform):
    """Resize all frames and masks of a clip to one size.

    Required keys: ``frames``; optional ``gt_masks``. Modified: ``frames``, ``gt_masks``,
    ``img_shape``; added ``scale_factor`` ``(w_scale, h_scale)``.

    Args:
        scale (int | tuple[int, int]): Target ``(w, h)``; an int means a square. With
            ``keep_ratio=True`` it is a bound instead: the clip is rescaled, keeping its aspect ratio,
            to the largest size whose long edge is at most ``max(scale)`` and short edge at most
            ``min(scale)`` (mmcv ``rescale_size`` semantics, as mmseg's ``Resize``).
        keep_ratio (bool): See ``scale``. Defaults to False.
        interpolation (str): Frame interpolation. Defaults to 'bilinear'. Masks use 'nearest'.
        backend (str): 'cv2' (default) or 'pillow' (the official AVSBench code resizes with Pillow).
    """

    def __init__(self,
                 scale: Union[int, Tuple[int, int]],
                 keep_ratio: bool = False,
                 interpolation: str = 'bilinear',
                 backend: str = 'cv2') -> None:
        self.scale = _as_size(scale, 'scale', 'ClipResize')
        self.keep_ratio = keep_ratio
        self.interpolation = interpolation
        self.backend = _check_backend(backend, 'ClipResize')

    def transform(self, results: dict) -> dict:
        """Resize the clip.

        Args:
            results (dict): With ``frames`` ``[T, H, W, 3]`` and optionally ``gt_masks`` ``[T, H, W]``.

        Returns:
            dict: ``results`` at the new size.
        """
        h, w = _frame_size(results, 'ClipResize')
        size = self.scale
        if self.keep_ratio:
            size = mmcv.rescale_size((w, h), self.scale)
        _resize_clip(results, size, self.interpolation, self.backend, 'ClipResize')
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(scale={self.scale}, keep_ratio={self.keep_ratio}, '
                f'interpolation={self.interpolation!r}, backend={self.backend!r})')


@TRANSFORMS.register_module()
class ClipResizeShortSide(BaseTransform):
    """Resize the short side to ``short_side`` keeping the aspect ratio, then centre-crop a square.

    This is the AVSS training transform of the official code (``crop_resize_img``): for a ``w x h``
    frame with ``w > h`` the new size is ``(int(w * s / h), s)``, otherwise ``(s, int(h * s / w))``
    (truncation); the crop offsets are ``int(round((w' - s) / 2))`` and ``int(round((h' - s) / 2))``
    (Python rounding, half to even).

    Required keys: ``frames``; optional ``gt_masks``. Modified: ``frames``, ``gt_masks``,
    ``img_shape``; added ``scale_factor`` and, with ``center_crop``, ``crop_bbox``.

    Args:
        short_side (int): Target length of the short side. Defaults to 224.
        center_crop (bool): Centre-crop to ``short_side x short_side`` afterwards. Defaults to True.
        interpolation (str): Frame interpolation. Defaults to 'bilinear'. Masks use 'nearest'.
        backend (str): 'cv2' (default) or 'pillow' (as the official code).
    """

    def __init__(self,
                 short_side: int = 224,
                 center_crop: bool = True,
                 interpolation: str = 'bilinear',
                 backend: str = 'cv2') -> None:
        if short_side < 1:
            raise ValueError(f'ClipResizeShortSide: short_side must be positive, got {short_side}')
        self.short_side = short_side
        self.center_crop = center_crop
        self.interpolation = interpolation
        self.backend = _check_backend(backend, 'ClipResizeShortSide')

    def transform(self, results: dict) -> dict:
        """Resize (and crop) the clip.

        Args:
            results (dict): With ``frames`` ``[T, H, W, 3]`` and optionally ``gt_masks`` ``[T, H, W]``.

        Returns:
            dict: ``results`` with short side ``short_side`` (square if ``center_crop``).
        """
        owner = 'ClipResizeShortSide'
        h, w = _frame_size(results, owner)
        s = self.short_side
        if w > h:
            size = (int(1.0 * w * s / h), s)
        else:
            size = (s, int(1.0 * h * s / w))
        _resize_clip(results, size, self.interpolation, self.backend, owner)
        if self.center_crop:
            x1, y1 = _centre_corner(size[1], size[0], s, s)
            _crop_clip(results, x1, y1, s, s, owner)
        return results

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(short_side={self.short_side}, center_crop={self.center_crop}, '
            f'interpolation={self.interpolation!r}, backend={self.backend!r})')


class _ClipCrop(BaseTransform):
    """Crop the same window from every frame and mask; subclasses choose its top-left corner.

    Required keys: ``frames``; optional ``gt_masks``. Modified: ``frames``, ``gt_masks``,
    ``img_shape``; added ``crop_bbox`` ``(x1, y1, x2, y2)`` (exclusive ``x2``, ``y2``).

    Args:
        crop_size (int | tuple[int, int]): ``(w, h)`` of the crop; an int means a square.
    """

    def __init__(self, crop_size: Union[int, Tuple[int, int]]) -> None:
        self.crop_size = _as_size(crop_size, 'crop_size', type(self).__name__)

    def corner(self, height: int, width: int) -> Tuple[int, int]:
        """Top-left corner ``(x1, y1)`` of the crop in frames of ``height`` x ``width``."""
        raise NotImplementedError

    def transform(self, results: dict) -> dict:
        """Crop the clip.

        Args:
            results (dict): With ``frames`` ``[T, H, W, 3]`` and optionally ``gt_masks`` ``[T, H, W]``.

        Returns:
            dict: ``results`` at the crop size.
        """
        name = type(self).__name__
        h, w = _check_crop(results, self.crop_size, name)
        x1, y1 = self.corner(h, w)
        _crop_clip(results, x1, y1, self.crop_size[0], self.crop_size[1], name)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(crop_size={self.crop_size})'


@TRANSFORMS.register_module()
class ClipCenterCrop(_ClipCrop):
    """Crop the centre of every frame and mask.

    Offsets are ``int(round((W - w) / 2))`` and ``int(round((H - h) / 2))``, as the official AVSS
    code. A crop larger than the frames raises ValueError.

    Keys and ``crop_size``: see :class:`_ClipCrop`.
    """

    def corner(self, height: int, width: int) -> Tuple[int, int]:
        """The centred corner."""
        return _centre_corner(height, width, *self.crop_size)


@TRANSFORMS.register_module()
class ClipRandomCrop(_ClipCrop):
    """Crop the same random window from every frame and mask of a clip.

    The top-left corner is drawn uniformly (``numpy.random``, seeded by MMEngine's ``randomness``).
    A crop larger than the frames raises ValueError.

    Keys and ``crop_size``: see :class:`_ClipCrop`.
    """

    def corner(self, height: int, width: int) -> Tuple[int, int]:
        """A uniformly drawn corner (x first, then y, as before)."""
        cw, ch = self.crop_size
        x1 = int(np.random.randint(0, width - cw + 1))
        y1 = int(np.random.randint(0, height - ch + 1))
        return x1, y1


@TRANSFORMS.register_module()
class ClipRandomFlip(BaseTransform):
    """Flip every frame and mask of a clip together, with probability ``prob``.

    When the clip carries MIT captions (``captions`` from datasets with ``with_text=True``), a flip also
    rewrites the words that name the flipped side, so the text keeps describing the image: ``left`` <->
    ``right`` for horizontal flips, ``top`` <-> ``bottom``, ``upper`` <-> ``lower``, ``above`` <-> ``below``,
    ``up`` <-> ``down`` for vertical ones (whole words, also ``leftmost`` / ``left-hand`` / ``Left``: the case
    of the first letter or of the whole word is kept). The captions are replaced by a new dict (the dataset's
    copy is untouched).

    Required keys: ``frames``; optional ``gt_masks``, ``captions``. Modified: ``frames``, ``gt_masks``,
    ``captions``; added ``flip`` (bool) and ``flip_direction`` (the direction, or None when not flipped).

    Args:
        prob (float): Probability of flipping, in [0, 1]. Defaults to 0.5.
        direction (str): 'horizontal' or 'vertical'. Defaults to 'horizontal'.
        swap_caption_words (bool | dict): True swaps the default word pairs of ``direction`` in the
            captions, False leaves captions as they are, a dict ``{word: other}`` swaps those pairs instead
            (both directions). Defaults to True.
    """

    #: Words swapped by default, per flip direction (each pair both ways).
    CAPTION_WORD_PAIRS: Dict[str, Dict[str, str]] = {
        'horizontal': {'left': 'right', 'leftmost': 'rightmost'},
        'vertical': {'top': 'bottom', 'upper': 'lower', 'above': 'below', 'topmost': 'bottommost', 'up': 'down'},
    }

    def __init__(self, prob: float = 0.5, direction: str = 'horizontal',
                 swap_caption_words: Union[bool, Dict[str, str]] = True) -> None:
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'ClipRandomFlip: prob must be in [0, 1], got {prob}')
        if direction not in ('horizontal', 'vertical'):
            raise ValueError(
                f'ClipRandomFlip: direction must be "horizontal" or "vertical", got {direction!r}')
        self.prob = prob
        self.direction = direction
        self.swap_caption_words = swap_caption_words
        self._word_map = self._build_word_map(swap_caption_words, direction)
        self._word_re = None if not self._word_map else re.compile(
            r'\b(' + '|'.join(sorted(map(re.escape, self._word_map), key=len, reverse=True)) + r')\b',
            re.IGNORECASE)

    @classmethod
    def _build_word_map(cls, swap: Union[bool, Dict[str, str]], direction: str) -> Dict[str, str]:
        """Lower-case ``word -> replacement`` map (both ways) from the ``swap_caption_words`` argument."""
        if isinstance(swap, bool):
            pairs = cls.CAPTION_WORD_PAIRS[direction] if swap else {}
        elif isinstance(swap, dict):
            pairs = swap
        else:
            raise ValueError(f'ClipRandomFlip: swap_caption_words must be a bool or a dict of word pairs, '
                             f'got {swap!r}')
        word_map: Dict[str, str] = {}
        for a, b in pairs.items():
            if not (isinstance(a, str) and isinstance(b, str) and re.fullmatch(r'\w+', a)
                    and re.fullmatch(r'\w+', b) and a.lower() != b.lower()):
                raise ValueError(f'ClipRandomFlip: swap_caption_words pairs must map one word to another '
                                 f'word, got {a!r}: {b!r}')
            for x, y in ((a.lower(), b.lower()), (b.lower(), a.lower())):
                if word_map.setdefault(x, y) != y:
                    raise ValueError(f'ClipRandomFlip: swap_caption_words maps {x!r} to both '
                                     f'{word_map[x]!r} and {y!r}')
        return word_map

    def swap_words(self, text: str) -> str:
        """``text`` with every swappable whole word replaced by its partner (case pattern kept)."""
        if self._word_re is None:
            return text

        def replace(match: 're.Match[str]') -> str:
            word = match.group(0)
            other = self._word_map[word.lower()]
            if word.isupper() and len(word) > 1:
                return other.upper()
            if word[0].isupper():
                return other[0].upper() + other[1:]
            return other

        return self._word_re.sub(replace, text)

    def _flip_captions(self, captions: dict) -> dict:
        """A new captions dict with the words of every caption swapped."""
        if self._word_re is None:
            return captions
        if not isinstance(captions, dict):
            raise ValueError(f'ClipRandomFlip: results["captions"] must be a dict, got {type(captions).__name__}')
        out = dict(captions)
        if isinstance(out.get('video'), str):
            out['video'] = self.swap_words(out['video'])
        for key in ('segments', 'frames'):
            if out.get(key) is not None:
                out[key] = [self.swap_words(c) if isinstance(c, str) else c for c in out[key]]
        return out

    def transform(self, results: dict) -> dict:
        """Maybe flip the clip (and its captions' side words).

        Args:
            results (dict): With ``frames`` ``[T, H, W, 3]`` and optionally ``gt_masks`` ``[T, H, W]`` and
                ``captions``.

        Returns:
            dict: ``results``, flipped or not, with ``flip`` and ``flip_direction``.
        """
        flip = bool(np.random.rand() < self.prob)
        if flip:
            _map_clip(results, lambda f: mmcv.imflip(f, self.direction),
                      lambda m: mmcv.imflip(m, self.direction), 'ClipRandomFlip')
            if results.get('captions') is not None:
                results['captions'] = self._flip_captions(results['captions'])
        elif 'frames' not in results:
            raise KeyError('ClipRandomFlip: results lack "frames"; put LoadClipFrames before it')
        results['flip'] = flip
        results['flip_direction'] = self.direction if flip else None
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(prob={self.prob}, direction={self.direction!r}, '
                f'swap_caption_words={self.swap_caption_words!r})')
