"""Load the frames and the ground-truth masks of a clip."""
import io
import logging
from typing import Dict, List, Optional, Sequence, Tuple

import mmcv
import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.logging import print_log
from PIL import Image

from mmavs.registry import TRANSFORMS

from ..mask_decoding import BINARIZE_RULES, LEGACY_BINARIZE, decode_binary_mask, decode_colour_mask
from ..palette import describe_colours, palette_lookup, voc_palette


def _read_bytes(path: str, backend_args: Optional[dict], owner: str, what: str, vid: str) -> bytes:
    """Read a file through mmengine's file backends, naming the clip when it is missing."""
    try:
        return fileio.get(path, backend_args=backend_args)
    except FileNotFoundError:
        raise FileNotFoundError(
            f'{owner}: clip "{vid}": {what} file "{path}" does not exist') from None


#: Image decoders of LoadClipFrames (all of them ignore EXIF orientation tags).
FRAME_DECODERS: Tuple[str, ...] = ('cv2', 'pillow')
__all__ = ['BINARIZE_RULES', 'FRAME_DECODERS', 'LEGACY_BINARIZE', 'LoadClipFrames', 'LoadClipMasks']


def blank_frame_flags(results: dict, owner: str) -> List[bool]:
    """``results['blank_flags']`` as ``T`` bools (all False when absent), checked against ``num_frames``.

    A blank frame is a padded frame (no file) that is trained as a real frame: ``frame_flags`` and
    ``gt_flags`` True, no image, all-background ground truth (``AVSSDataset(short_v2_train='legacy')``).
    """
    num_frames = results['num_frames']
    blank = results.get('blank_flags')
    if blank is None:
        return [False] * num_frames
    blank = [bool(b) for b in blank]
    if len(blank) != num_frames:
        raise ValueError(
            f'{owner}: clip "{results.get("vid")}": {len(blank)} blank_flags for num_frames={num_frames}')
    return blank


def _check_paths_and_flags(results: dict, paths_key: str, flags_key: str,
                           owner: str) -> List[Optional[str]]:
    """Return ``results[paths_key]`` after checking it agrees with ``results[flags_key]``.

    A frame is flagged exactly when it has a file, or when it is blank (``blank_flags``, no file).
    """
    for key in (paths_key, 'num_frames'):
        if key not in results:
            raise KeyError(f'{owner}: results lack the key "{key}" (set by the AVS datasets)')
    paths = list(results[paths_key])
    if len(paths) != results['num_frames']:
        raise ValueError(
            f'{owner}: clip "{results.get("vid")}": {len(paths)} {paths_key} for num_frames='
            f'{results["num_frames"]}')
    blank = blank_frame_flags(results, owner)
    if any(b and p is not None for b, p in zip(blank, paths)):
        raise ValueError(
            f'{owner}: clip "{results.get("vid")}": blank_flags {blank} mark frames that have a file in '
            f'{paths_key} {paths}')
    flags = results.get(flags_key)
    if flags is not None and [p is not None or b for p, b in zip(paths, blank)] != [bool(f) for f in flags]:
        raise ValueError(
            f'{owner}: clip "{results.get("vid")}": {flags_key} {list(flags)} disagree with '
            f'{paths_key} {paths}' + (f' and blank_flags {blank}' if any(blank) else ''))
    return paths


@TRANSFORMS.register_module()
class LoadClipFrames(BaseTransform):
    """Load the frames of a clip as one RGB uint8 array.

    Padded frames (``frame_paths[i] is None``, blank frames included) are all-zero frames of the real
    frames' size. All real frames must have the same size.

    Required keys: ``frame_paths``, ``num_frames``; ``frame_flags`` and ``blank_flags`` optional, checked if
    present.

    Added keys: ``frames`` (np.uint8 ``[T, H, W, 3]``, RGB), ``ori_shape`` and ``img_shape``
    (``(H, W)``).

    EXIF orientation tags are **ignored** by every decoder, as the official AVSBench loaders do
    (``Image.open(path).convert('RGB')`` does not apply them): the pixels are returned as stored, so
    frames keep the size of their masks. (OpenCV's ``IMREAD_COLOR`` and mmcv's pillow path would rotate
    a tagged JPEG or PNG.)

    Args:
        imdecode_backend (str): 'cv2' (default; :func:`mmcv.imfrombytes` with
            ``flag='color_ignore_orientation'``) or 'pillow' (PIL ``Image.open(...).convert('RGB')``,
            exactly the official AVSBench decoding; identical to 'cv2' for PNG, may differ slightly for
            JPEG).
        backend_args (dict, optional): mmengine file backend arguments. Defaults to None (local).
    """

    def __init__(self, imdecode_backend: str = 'cv2', backend_args: Optional[dict] = None) -> None:
        if imdecode_backend not in FRAME_DECODERS:
            raise ValueError(
                f'LoadClipFrames: imdecode_backend must be one of {FRAME_DECODERS}, got '
                f'{imdecode_backend!r}')
        self.imdecode_backend = imdecode_backend
        self.backend_args = backend_args

    def _decode(self, content: bytes) -> np.ndarray:
        """Decode image bytes to RGB uint8 ``[H, W, 3]``, ignoring any EXIF orientation tag."""
        if self.imdecode_backend == 'pillow':
            with Image.open(io.BytesIO(content)) as img:
                return np.asarray(img.convert('RGB'))
        # mmcv converts BGR to RGB only for flag 'color', so ask for BGR and convert here.
        bgr = mmcv.imfrombytes(
            content, flag='color_ignore_orientation', channel_order='bgr', backend='cv2')
        if bgr is None:
            raise ValueError('OpenCV cannot decode it')
        return mmcv.bgr2rgb(bgr)

    def transform(self, results: dict) -> dict:
        """Load the frames.

        Args:
            results (dict): A ``data_info`` dict of an AVS dataset.

        Returns:
            dict: ``results`` with ``frames``, ``ori_shape`` and ``img_shape``.
        """
        name = type(self).__name__
        vid = results.get('vid')
        paths = _check_paths_and_flags(results, 'frame_paths', 'frame_flags', name)
        loaded: List[Optional[np.ndarray]] = []
        shape: Optional[Tuple[int, int]] = None
        first_path = None
        for path in paths:
            if path is None:
                loaded.append(None)
                continue
            content = _read_bytes(path, self.backend_args, name, 'frame', vid)
            try:
                img = self._decode(content)
            except Exception as e:  # decoders raise various types on corrupt data
                raise ValueError(
                    f'{name}: clip "{vid}": cannot decode frame "{path}": {e}') from None
            if img is None or img.ndim != 3 or img.shape[2] != 3:
                raise ValueError(
                    f'{name}: clip "{vid}": cannot decode frame "{path}" as an RGB image')
            if shape is None:
                shape, first_path = img.shape[:2], path
            elif img.shape[:2] != shape:
                raise ValueError(
                    f'{name}: clip "{vid}": frame "{path}" is {img.shape[1]}x{img.shape[0]} (WxH) but '
                    f'"{first_path}" is {shape[1]}x{shape[0]}; all frames of a clip must share a size'
                )
            loaded.append(np.ascontiguousarray(img, dtype=np.uint8))
        if shape is None:
            raise ValueError(f'{name}: clip "{vid}" has no real frame (all frame_paths are None)')
        zeros = np.zeros((*shape, 3), dtype=np.uint8)
        results['frames'] = np.stack([zeros if f is None else f for f in loaded])
        results['ori_shape'] = tuple(shape)
        results['img_shape'] = tuple(shape)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(imdecode_backend={self.imdecode_backend!r}, '
                f'backend_args={self.backend_args})')


@TRANSFORMS.register_module()
class LoadClipMasks(BaseTransform):
    """Load the ground-truth masks of a clip as one uint8 array.

    Modes:

    * ``'binary'`` (S4, MS3): output 0 / 1, by the rule ``binarize``:

      - ``'legacy_s4'``: the official S4 loader, ``Image.open(path).convert('1')`` with PIL's
        defaults, i.e. grey level >= 128 **with Floyd-Steinberg dithering** (a grey area becomes a
        dither pattern; colour masks are first reduced to grey levels by PIL). Exact.
      - ``'legacy_ms3'``: the official MS3 loader, ``convert('P')`` then ``/ 255``: the official target
        is the palette index / 255 (``'L'`` masks keep their grey level as the index; ``'RGB'`` masks
        are mapped to PIL's web palette, white -> 225). Foreground = index / 255 > 0.5 (index >= 128),
        exact for indices 0 and 255; for other indices the official loader trains and scores with the
        *soft* target index / 255, which a 0 / 1 mask cannot hold (reported, see below).
      - ``'legacy'``: ``'legacy_s4'`` or ``'legacy_ms3'`` chosen by ``results['subset']`` ('s4' /
        'ms3', set by the datasets); another subset raises. The benchmark configs use this.
      - ``'nonzero'`` (default): foreground = value > 0, decided explicitly per PNG mode: '1', 'L',
        'I', 'I;16' (pixel value), 'P' (palette *index* > 0), 'LA' (luminance), 'RGB' / 'RGBA' (any of
        the R, G, B channels > 0; alpha ignored). A mask whose background is a small non-zero value
        becomes all foreground under this rule, unlike the legacy ones.

      On strictly two-level masks (every value the rule thresholds is 0 or 255: grey levels of
      ``convert('L')`` for 'legacy_s4', indices of ``convert('P')`` for 'legacy_ms3', the stored
      values above for 'nonzero') the three rules agree. The first mask that is not strictly
      two-level is reported with a warning through the current MMLogger (file, values, what the rule
      does with them), once per transform instance (so once per dataset and dataloader worker).
    * ``'palette'`` (AVSS ``labels_rgb``): the mask is converted to RGB with PIL
      (``Image.open(path).convert('RGB')``, as the official AVSS loader does; 'P' masks go through
      their own palette) and the colour of each pixel is looked up in a palette; output is the class
      index. A colour that is not in the palette raises ValueError naming the file and the colours
      (the official loader silently maps unknown colours to class 0). The palette is, in order of
      precedence: the ``palette`` argument, ``results['palette']``, or the built-in VOC
      bit-interleaved palette with ``results['num_classes']`` colours (71 if absent).

    Masks are read with PIL, which ignores EXIF orientation tags (as the official loaders do).

    Frames without ground truth (``mask_paths[i] is None``) are filled with ``ignore_index``, except blank
    frames (``blank_flags[i]`` True: padding trained as a real frame, ``AVSSDataset(short_v2_train='legacy')``),
    which get an all-background mask (0), as the official AVSS loader's padded masks.
    Masks must have the frames' size (``frames`` / ``img_shape`` if ``LoadClipFrames`` ran before,
    else the first mask's size); otherwise a ValueError names the file, unless ``resize_to_frame``
    is True, in which case masks are resized to the frame size with nearest-neighbour sampling
    (Pillow, on the decoded index map).

    Required keys: ``mask_paths``, ``num_frames``; optional ``gt_flags`` (checked), ``blank_flags``, ``frames``,
    ``palette``, ``num_classes``, ``subset`` (required by ``binarize='legacy'``), ``vid``.

    Added keys: ``gt_masks`` (np.uint8 ``[T, H, W]``).

    Args:
        mode (str): 'binary' or 'palette'. Defaults to 'binary'.
        palette (Sequence[Sequence[int]], optional): RGB colours of the classes for mode 'palette'.
        resize_to_frame (bool): Resize masks whose size differs from the frames' (nearest) instead
            of raising. Defaults to False.
        ignore_index (int): Value of frames without ground truth. Defaults to 255.
        backend_args (dict, optional): mmengine file backend arguments. Defaults to None (local).
        binarize (str, optional): Rule of mode 'binary': 'legacy', 'legacy_s4', 'legacy_ms3' or
            'nonzero' (see above). Defaults to None, i.e. 'nonzero'; must be None for mode 'palette'.
    """

    def __init__(self,
                 mode: str = 'binary',
                 palette: Optional[Sequence[Sequence[int]]] = None,
                 resize_to_frame: bool = False,
                 ignore_index: int = 255,
                 backend_args: Optional[dict] = None,
                 binarize: Optional[str] = None) -> None:
        if mode not in ('binary', 'palette'):
            raise ValueError(f'LoadClipMasks: mode must be "binary" or "palette", got {mode!r}')
        if palette is not None and mode != 'palette':
            raise ValueError('LoadClipMasks: palette is only used with mode="palette"')
        if binarize is not None and mode != 'binary':
            raise ValueError(
                'LoadClipMasks: binarize is only used with mode="binary" (colour masks are decoded '
                'with the palette)')
        if mode == 'binary':
            binarize = 'nonzero' if binarize is None else binarize
            if binarize not in BINARIZE_RULES:
                raise ValueError(
                    f'LoadClipMasks: binarize must be one of {BINARIZE_RULES}, got {binarize!r}')
        self.mode = mode
        self.binarize = binarize
        self._reported_levels = False
        self.palette = None if palette is None else [list(map(int, c)) for c in palette]
        self.resize_to_frame = resize_to_frame
        self.ignore_index = ignore_index
        self.backend_args = backend_args
        self._lut_cache: Dict[Tuple[Tuple[int, ...], ...], Dict[int, int]] = {}
        if self.palette is not None:
            self._lookup_table(self.palette)  # validate early

    # ----------------------------------------------------------------- decoding
    def _rule_of(self, results: dict) -> str:
        """The concrete binarisation rule for this clip (resolves 'legacy' by ``results['subset']``)."""
        if self.binarize != 'legacy':
            return self.binarize
        subset = results.get('subset')
        if subset not in LEGACY_BINARIZE:
            raise ValueError(
                f'LoadClipMasks(binarize="legacy"): clip "{results.get("vid")}" has subset '
                f'{subset!r}; "legacy" picks the official decoding from results["subset"] '
                f'{LEGACY_BINARIZE}. Set binarize to "legacy_s4", "legacy_ms3" or "nonzero".')
        return LEGACY_BINARIZE[subset]

    def _decode_binary(self, img: Image.Image, path: str, rule: str) -> np.ndarray:
        """Binarise ``img`` by ``rule`` (:func:`~mmavs.datasets.mask_decoding.decode_binary_mask`): 0 / 1 ``[H, W]``."""
        decoded = decode_binary_mask(img, path, rule, type(self).__name__)
        if not self._reported_levels:
            values = decoded.extra_levels()
            if values is not None:
                self._reported_levels = True
                print_log(
                    f'{type(self).__name__}(binarize={self.binarize!r}): {decoded.describe_levels(path, values)}. '
                    'Further such masks are not reported by this transform.',
                    logger='current',
                    level=logging.WARNING)
        return decoded.mask

    def _lookup_table(self, palette: Sequence[Sequence[int]]) -> Dict[int, int]:
        key = tuple(tuple(int(v) for v in c) for c in palette)
        lut = self._lut_cache.get(key)
        if lut is not None:
            return lut
        if len(key) > self.ignore_index or len(key) > 256:
            raise ValueError(
                f'LoadClipMasks: {len(key)} palette colours do not fit uint8 class indices below '
                f'ignore_index={self.ignore_index}')
        try:
            lut = palette_lookup(key)
        except ValueError as e:
            raise ValueError(f'LoadClipMasks: {e}') from None
        self._lut_cache[key] = lut
        return lut

    def _decode_palette(self, img: Image.Image, path: str, lut: Dict[int, int]) -> np.ndarray:
        classes, unknown = decode_colour_mask(img, path, lut, type(self).__name__)
        if unknown:
            raise ValueError(
                f'LoadClipMasks: mask "{path}" has {len(unknown)} colour(s) not in the '
                f'{len(lut)}-colour palette: {describe_colours(unknown)}')
        return classes.astype(np.uint8)

    def _resolve_palette(self, results: dict) -> Dict[int, int]:
        if self.palette is not None:
            return self._lookup_table(self.palette)
        if results.get('palette') is not None:
            return self._lookup_table(results['palette'])
        return self._lookup_table(voc_palette(int(results.get('num_classes', 71))))

    # ---------------------------------------------------------------- transform
    def transform(self, results: dict) -> dict:
        """Load the masks.

        Args:
            results (dict): A ``data_info`` dict of an AVS dataset (after ``LoadClipFrames``
                preferably).

        Returns:
            dict: ``results`` with ``gt_masks`` (np.uint8 ``[T, H, W]``).
        """
        name = type(self).__name__
        vid = results.get('vid')
        paths = _check_paths_and_flags(results, 'mask_paths', 'gt_flags', name)
        lut = self._resolve_palette(results) if self.mode == 'palette' else None
        rule = self._rule_of(results) if self.mode == 'binary' else None
        target: Optional[Tuple[int, int]] = None
        if results.get('frames') is not None:
            target = tuple(results['frames'].shape[1:3])
        masks: List[Optional[np.ndarray]] = []
        for path in paths:
            if path is None:
                masks.append(None)
                continue
            content = _read_bytes(path, self.backend_args, name, 'mask', vid)
            try:
                with Image.open(io.BytesIO(content)) as img:
                    img.load()
                    if self.mode == 'binary':
                        mask = self._decode_binary(img, path, rule)
                    else:
                        mask = self._decode_palette(img, path, lut)
            except (OSError, SyntaxError) as e:  # PIL's errors for unreadable images
                raise ValueError(
                    f'{name}: clip "{vid}": cannot decode mask "{path}": {e}') from None
            if target is None:
                target = mask.shape
            if mask.shape != target:
                if not self.resize_to_frame:
                    raise ValueError(
                        f'{name}: clip "{vid}": mask "{path}" is {mask.shape[1]}x{mask.shape[0]} (WxH) '
                        f'but the frames are {target[1]}x{target[0]}; set resize_to_frame=True to '
                        'resize masks to the frames')
                mask = mmcv.imresize(
                    mask, (target[1], target[0]), interpolation='nearest', backend='pillow')
            masks.append(mask)
        if target is None:
            raise ValueError(
                f'{name}: clip "{vid}" has no mask and no loaded frames to take the size from; put '
                'LoadClipFrames before LoadClipMasks')
        no_gt = np.full(target, self.ignore_index, dtype=np.uint8)
        background = np.zeros(target, dtype=np.uint8)
        blank = blank_frame_flags(results, name)
        results['gt_masks'] = np.stack([
            m if m is not None else background if is_blank else no_gt for m, is_blank in zip(masks, blank)
        ])
        return results

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(mode={self.mode!r}, binarize={self.binarize!r}, '
            f'resize_to_frame={self.resize_to_frame}, '
            f'ignore_index={self.ignore_index}, palette='
            f'{"given" if self.palette is not None else "from results / built-in"})')
