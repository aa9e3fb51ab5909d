"""Predicted mask files in the layout and file names of the AVSBench scripts: path rules, writing, reading.

The official test scripts (OpenNLPLab/AVSBench ``avs_scripts/*/test.py --save_pred_mask``) write every
predicted mask of a clip into a folder ``pred_masks``, numbering the frames from **0** (the ground truth
is numbered from 1 in S4 / MS3, from 0 in AVSS)::

    S4   (utils/utility.py save_mask):        pred_masks/{category}/{vid}/{vid}_{0..4}.png
    MS3  (utils/utility.py save_mask):        pred_masks/{vid}/{vid}_{0..4}.png
    AVSS (utils/vis_mask.py save_color_mask): pred_masks/{uid}/{uid}_{0..9}.png   # 10 = padded length

S4 / MS3 masks are ``sigmoid(logit) > 0.5`` times 255, saved as ``Image.fromarray(mask).convert('P')``
(mode 'P' with a grey palette: index 0 black, 255 white). AVSS masks are the arg-max class painted with
the VOC bit-interleaved palette (mode 'RGB'), every one of the 10 padded frames included.

mmavs writes the same names and folders (:func:`pred_mask_relpath`), S4 / MS3 masks exactly as the
official ``save_mask`` does, and AVSS masks as mode 'P' PNGs whose palette is the dataset's
(VOC) palette: the stored index is the class and ``convert('RGB')`` gives the colours of the official
files. Masks are written at the size of the ground truth the metric scored (``gt_masks``; 224x224 in the
legacy pipelines of all three subsets). The official AVSS script instead resizes its RGB masks to 360x240
with Pillow's default (bicubic) filter, which mixes colours at class borders and is not the size its
metric used.

:func:`read_pred_mask` reads such files back (also those of other repositories in this layout) as class
indices: binary masks thresholded at 128, AVSS masks by exact palette colour ('RGB' / 'P') or as class
indices ('L').
"""
import io
import os
import os.path as osp
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

from mmavs.datasets.palette import describe_colours, image_to_classes, palette_lookup, voc_palette
from mmavs.engine.atomic_file import atomic_write

#: Subsets and the kind of their masks.
BINARY_SUBSETS = ('s4', 'ms3')
SEMANTIC_SUBSETS = ('avss', )
SUBSETS = BINARY_SUBSETS + SEMANTIC_SUBSETS
#: Folder of the masks below a ``--save-pred`` directory, as in the official scripts' log dir.
PRED_MASKS_DIRNAME = 'pred_masks'
#: Grey level from which a binary mask pixel is foreground.
BINARY_THRESHOLD = 128
#: PIL modes :func:`read_pred_mask` accepts, per kind of subset.
BINARY_MODES = ('1', 'L', 'P', 'RGB')
SEMANTIC_MODES = ('RGB', 'P', 'L')


class PredMaskError(ValueError):
    """A predicted mask file that cannot be scored; the message names the file and what is wrong."""


def _check_subset(subset: str) -> None:
    if subset not in SUBSETS:
        raise ValueError(f'unknown AVSBench subset {subset!r}; expected one of {SUBSETS}')


def pred_mask_relpath(subset: str, vid: str, frame_index: int, category: Optional[str] = None) -> str:
    """Path of one predicted mask below ``pred_masks``, by the official scripts' rule.

    Args:
        subset (str): ``'s4'``, ``'ms3'`` or ``'avss'``.
        vid (str): The clip id (S4 / MS3 video name, AVSS ``uid``).
        frame_index (int): Frame position in the clip, from 0.
        category (str, optional): The S4 category (required for S4, unused otherwise).

    Returns:
        str: ``{category}/{vid}/{vid}_{i}.png`` (S4) or ``{vid}/{vid}_{i}.png`` (MS3, AVSS), '/'-separated.
    """
    _check_subset(subset)
    if frame_index < 0:
        raise ValueError(f'frame_index must be >= 0, got {frame_index}')
    name = f'{vid}/{vid}_{int(frame_index)}.png'
    if subset == 's4':
        if not category:
            raise ValueError(f'S4 clip {vid!r}: the category is needed for its mask folder')
        return f'{category}/{name}'
    return name


def clip_pred_mask_relpaths(meta: dict) -> List[str]:
    """Paths (below ``pred_masks``) of all ``T`` predicted masks of one clip.

    Args:
        meta (dict): A dataset ``data_info`` or a data sample's ``metainfo``: ``subset``, ``vid``,
            ``num_frames`` and, for S4, ``category``.

    Returns:
        list[str]: ``T`` paths, frame 0 first (padded AVSS frames included, as the official script writes).
    """
    missing = [k for k in ('subset', 'vid', 'num_frames') if meta.get(k) is None]
    if missing:
        raise KeyError(f'clip metadata lacks {missing} (set by the AVS datasets): {sorted(meta)}')
    return [
        pred_mask_relpath(meta['subset'], meta['vid'], i, meta.get('category'))
        for i in range(int(meta['num_frames']))
    ]


def _lookup(palette: Optional[Sequence[Sequence[int]]]) -> Dict[int, int]:
    return palette_lookup(voc_palette(71) if palette is None else palette)


def encode_pred_mask(mask: np.ndarray, subset: str, palette: Optional[Sequence[Sequence[int]]] = None) -> bytes:
    """PNG bytes of one predicted mask.

    Args:
        mask (np.ndarray): integer ``[H, W]``: 0 / 1 (S4, MS3) or class indices (AVSS).
        subset (str): ``'s4'``, ``'ms3'`` or ``'avss'``.
        palette (Sequence[Sequence[int]], optional): AVSS class colours; defaults to the 71-colour VOC
            palette. Unused for S4 / MS3.

    Returns:
        bytes: S4 / MS3: the official ``Image.fromarray(mask * 255).convert('P')`` PNG; AVSS: a mode
        'P' PNG with index = class and the palette's colours.
    """
    _check_subset(subset)
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f'a mask must be [H, W], got shape {list(mask.shape)}')
    if subset in BINARY_SUBSETS:
        if mask.size and (mask.min() < 0 or mask.max() > 1):
            raise ValueError(f'binary masks hold 0 / 1, got values in [{mask.min()}, {mask.max()}]')
        img = Image.fromarray(mask.astype(np.uint8) * 255).convert('P')
    else:
        colours = voc_palette(71) if palette is None else [list(map(int, c)) for c in palette]
        if len(colours) > 256:
            raise ValueError(f'{len(colours)} classes do not fit a PNG palette (256 at most)')
        if mask.size and (mask.min() < 0 or mask.max() >= len(colours)):
            raise ValueError(
                f'class indices must be in [0, {len(colours)}), got values in [{mask.min()}, {mask.max()}]')
        img = Image.fromarray(mask.astype(np.uint8)).convert('P')
        flat = [v for colour in colours for v in colour]
        img.putpalette(flat + [0] * (768 - len(flat)))
    buffer = io.BytesIO()
    img.save(buffer, format='PNG')
    return buffer.getvalue()


def write_pred_mask(path: str, mask: np.ndarray, subset: str,
                    palette: Optional[Sequence[Sequence[int]]] = None) -> None:
    """Write one predicted mask (:func:`encode_pred_mask`) to ``path``, creating its folder.

    The file is written to a temporary name in the same folder and renamed onto ``path``, so that two
    processes writing the same clip (distributed samplers repeat a few clips to even out the ranks) or a
    killed run never leave a partial PNG behind.
    """
    atomic_write(path, encode_pred_mask(mask, subset, palette), sync=False)


def _binary_levels(img: Image.Image, path: str) -> np.ndarray:
    """Grey levels ``[H, W]`` (uint8) of a binary mask file; colours are an error."""
    if img.mode == '1':
        return np.asarray(img, dtype=np.uint8) * 255
    if img.mode == 'L':
        return np.asarray(img)
    if img.mode not in ('P', 'RGB'):
        raise PredMaskError(
            f'predicted mask "{path}" has the PIL mode {img.mode!r}; binary (S4 / MS3) masks must be one '
            f'of {BINARY_MODES} (black / white, thresholded at {BINARY_THRESHOLD})')
    rgb = np.asarray(img.convert('RGB'))
    grey = (rgb[..., 0] == rgb[..., 1]) & (rgb[..., 1] == rgb[..., 2])
    if not grey.all():
        colours = sorted({tuple(int(v) for v in c) for c in rgb[~grey][:1000]})
        raise PredMaskError(
            f'predicted mask "{path}" (mode {img.mode!r}) has colours, e.g. {describe_colours(colours, 5)}; '
            'a binary (S4 / MS3) mask must be grey levels (black background, white object). Is it an AVSS '
            'colour mask?')
    return rgb[..., 0]


def _semantic_classes(img: Image.Image, path: str, palette: Optional[Sequence[Sequence[int]]]) -> np.ndarray:
    """Class indices ``[H, W]`` (int64) of an AVSS mask file."""
    lut = _lookup(palette)
    num_classes = len(lut)
    if img.mode == 'L':
        classes = np.asarray(img).astype(np.int64)
        if classes.size and classes.max() >= num_classes:
            bad = np.unique(classes[classes >= num_classes])
            raise PredMaskError(
                f'predicted mask "{path}" (mode \'L\', read as class indices) has the values '
                f'{bad[:10].tolist()}, outside the {num_classes} classes [0, {num_classes})')
        return classes
    if img.mode not in ('RGB', 'P'):
        raise PredMaskError(
            f'predicted mask "{path}" has the PIL mode {img.mode!r}; AVSS masks must be colour masks (\'RGB\', '
            "or 'P' decoded through its palette) or class-index masks ('L')")
    classes, unknown = image_to_classes(img, lut)
    if unknown:
        raise PredMaskError(
            f'predicted mask "{path}" (mode {img.mode!r}) has {len(unknown)} colour(s) outside the '
            f'{num_classes}-colour palette: {describe_colours(unknown)} (masks resized with a smoothing '
            "filter mix colours; a 'P' file that stores class indices must carry the dataset palette, or be "
            "saved as mode 'L')")
    return classes


def read_pred_mask(path: str, subset: str, palette: Optional[Sequence[Sequence[int]]] = None) -> np.ndarray:
    """Read one predicted mask file as class indices.

    Rules (exact; anything else is a :class:`PredMaskError` naming the file):

    - S4 / MS3 (binary): modes '1', 'L', 'P' and 'RGB' whose pixels are grey (R = G = B after PIL's
      ``convert('RGB')``; 'P' through its own palette, so the official grey-palette 'P' files read as
      their index); foreground where the grey level is >= 128. A file with colours is an error.
    - AVSS: 'RGB' and 'P' (through its own palette) are colour masks, every colour must be one of
      ``palette`` (exact match) and gives its class; 'L' holds class indices directly, each below
      ``len(palette)``.

    Args:
        path (str): The PNG file.
        subset (str): ``'s4'``, ``'ms3'`` or ``'avss'``.
        palette (Sequence[Sequence[int]], optional): AVSS class colours (the dataset's
            ``metainfo['palette']``); defaults to the 71-colour VOC palette. Unused for S4 / MS3.

    Returns:
        np.ndarray: int64 ``[H, W]``: 0 / 1 (S4, MS3) or class indices (AVSS).

    Raises:
        FileNotFoundError: The file does not exist.
        PredMaskError: The file is not an image PIL can read, has another mode, or holds values the
            rules above reject (colours in a binary mask, colours outside the palette, class indices
            out of range).
    """
    _check_subset(subset)
    if not osp.isfile(path):
        raise FileNotFoundError(f'predicted mask "{path}" does not exist')
    try:
        with Image.open(path) as img:
            img.load()
            if subset in BINARY_SUBSETS:
                return (_binary_levels(img, path) >= BINARY_THRESHOLD).astype(np.int64)
            return _semantic_classes(img, path, palette)
    except (OSError, SyntaxError) as e:  # PIL's errors for files it cannot decode
        raise PredMaskError(f'predicted mask "{path}" cannot be read as an image: {e}') from None


# ----------------------------------------------------------------------------- folders of saved masks
def find_files(root: str) -> List[str]:
    """Every file below ``root`` (hidden ones included), as sorted '/'-separated relative paths."""
    found = []
    for folder, _, names in os.walk(root):
        rel = osp.relpath(folder, root)
        found += [name if rel == '.' else f'{rel}/{name}'.replace(os.sep, '/') for name in names]
    return sorted(found)


def compare_layout(root: str, expected: Iterable[str]) -> Tuple[List[str], List[str]]:
    """The expected mask files that ``root`` lacks, and the files it has that are not expected.

    Args:
        root (str): A ``pred_masks`` folder.
        expected (Iterable[str]): Relative paths (:func:`clip_pred_mask_relpaths` of every clip).

    Returns:
        tuple[list[str], list[str]]: ``(missing, extra)``, sorted relative paths.
    """
    expected, present = set(expected), set(find_files(root))
    return sorted(expected - present), sorted(present - expected)


def read_clip_pred_masks(root: str, meta: dict, size: Tuple[int, int],
                         palette: Optional[Sequence[Sequence[int]]] = None) -> Tuple[Optional[np.ndarray], List[str]]:
    """Read the ``T`` saved masks of one clip and check them against the ground-truth size.

    Args:
        root (str): The ``pred_masks`` folder.
        meta (dict): The clip's ``metainfo`` / ``data_info`` (see :func:`clip_pred_mask_relpaths`).
        size (tuple[int, int]): ``(H, W)`` of the clip's ``gt_masks``, which every mask must have.
        palette (Sequence[Sequence[int]], optional): AVSS class colours (see :func:`read_pred_mask`).

    Returns:
        tuple[np.ndarray | None, list[str]]: int64 ``[T, H, W]`` masks (None if any file has a problem)
        and one message per problem, each naming the file (missing, unreadable, wrong mode or values, or
        ``W x H`` differing from the ground truth's).
    """
    masks, problems = [], []
    size = tuple(int(s) for s in size)
    for relpath in clip_pred_mask_relpaths(meta):
        path = osp.join(root, relpath)
        try:
            mask = read_pred_mask(path, meta['subset'], palette)
        except (FileNotFoundError, PredMaskError) as e:
            problems.append(str(e))
            continue
        if mask.shape != size:
            problems.append(
                f'predicted mask "{path}" is {mask.shape[1]}x{mask.shape[0]} (WxH) but the ground truth of clip '
                f'{meta["vid"]!r} scored by the metric is {size[1]}x{size[0]}')
            continue
        masks.append(mask)
    return (np.stack(masks) if not problems else None), problems
