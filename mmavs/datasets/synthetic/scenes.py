"""Random clip scenes: which objects are visible where, and which of them sound in each second.

A scene has ``K`` (2 or 3) objects of *different* categories, each in its own cell of a 2x2 grid (so
objects never overlap), drifting a little from frame to frame. Who sounds is decided per frame:

- ``'single'`` (S4, AVSS v1s): one *main* object, placed in a random cell, is the only one that ever
  sounds; it is silent in a frame with probability ``silent_prob``.
- ``'multi'`` (MS3, AVSS v1m / v2): with probability ``silent_prob`` nobody sounds; otherwise 1 or 2
  objects picked at random among the visible ones sound.

Every clip has at least one sounding frame. Because the sounding object is a random one of the visible
objects, a model that ignores the audio cannot tell which object to segment.

The visual-bias probe (``larger_sounds_prob``, ``'multi'`` mode) plants a visual shortcut instead: two objects
of clearly different sizes (sides 78-90 % and 40-52 % of a grid cell), and in each frame that is not silent
exactly one of them sounds: the larger one with probability ``larger_sounds_prob``, else the smaller one. With
1.0 the shortcut "segment the larger object" is always right, with 0.0 always wrong. The draw is made for every
frame whatever the probability, so scenes sampled from the same generator state with 1.0 and with 0.0 have the
same objects, positions and silent frames and differ only in who sounds.
"""
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .categories import CategoryStyle

#: Cells of the 2x2 layout grid as (row, col).
GRID_CELLS: Tuple[Tuple[int, int], ...] = ((0, 0), (0, 1), (1, 0), (1, 1))
_ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
_ID_EXTRA = '-_'
#: Sprite side as a fraction of the grid cell: all objects, and the visual-bias probe's larger / smaller one.
OBJECT_SIZE_RANGE: Tuple[float, float] = (0.62, 0.86)
LARGER_SIZE_RANGE: Tuple[float, float] = (0.78, 0.90)
SMALLER_SIZE_RANGE: Tuple[float, float] = (0.40, 0.52)


@dataclass
class ObjectTrack:
    """One object of a clip.

    Args:
        style (CategoryStyle): Its category's look and sound.
        cell (tuple[int, int]): Grid cell ``(row, col)``.
        size (int): Sprite side in pixels.
        positions (list[tuple[int, int]]): Top-left ``(x, y)`` in each frame.
    """

    style: CategoryStyle
    cell: Tuple[int, int]
    size: int
    positions: List[Tuple[int, int]] = field(default_factory=list)


@dataclass
class ClipScene:
    """Everything needed to draw and sonify one clip.

    Args:
        vid (str): Clip id.
        split (str): ``train``, ``val`` or ``test``.
        height (int): Frame height.
        width (int): Frame width.
        objects (list[ObjectTrack]): ``K`` objects.
        sounding (np.ndarray): bool ``[T, K]``: object ``k`` sounds in frame / second ``t``.
        main_index (int | None): Index of the main object (``'single'`` mode), else None.
    """

    vid: str
    split: str
    height: int
    width: int
    objects: List[ObjectTrack]
    sounding: np.ndarray
    main_index: Optional[int] = None

    @property
    def num_frames(self) -> int:
        """Number of frames ``T``."""
        return int(self.sounding.shape[0])


def random_video_id(rng: np.random.Generator, taken: set, length: int = 11) -> str:
    """A YouTube-like id (letters, digits, ``-`` and ``_`` inside), unique with respect to ``taken``.

    Args:
        rng (np.random.Generator): Random source.
        taken (set): Ids already used; the new id is added to it.
        length (int): Id length.

    Returns:
        str: The new id (never starts with ``-`` or ``_``).
    """
    inner = _ID_ALPHABET + _ID_EXTRA
    while True:
        first = _ID_ALPHABET[rng.integers(len(_ID_ALPHABET))]
        rest = ''.join(inner[i] for i in rng.integers(len(inner), size=length - 1))
        vid = first + rest
        if vid not in taken:
            taken.add(vid)
            return vid


def _place_track(rng: np.random.Generator, style: CategoryStyle, cell: Tuple[int, int], height: int,
                 width: int, num_frames: int,
                 size_range: Tuple[float, float] = OBJECT_SIZE_RANGE) -> ObjectTrack:
    """Pick an object's size (a fraction in ``size_range`` of the cell) and per-frame positions in its cell."""
    cell_h, cell_w = height // 2, width // 2
    y_lo, x_lo = cell[0] * cell_h, cell[1] * cell_w
    size = int(round(min(cell_h, cell_w) * rng.uniform(*size_range)))
    size = max(4, min(size, cell_h, cell_w))
    x_hi, y_hi = x_lo + cell_w - size, y_lo + cell_h - size  # inclusive ranges of the top-left corner
    x0, y0 = rng.uniform(x_lo, x_hi), rng.uniform(y_lo, y_hi)
    velocity = rng.uniform(-0.06, 0.06, size=2) * size
    positions = []
    for t in range(num_frames):
        jitter = rng.normal(0.0, 0.015 * size, size=2)
        x = int(round(np.clip(x0 + velocity[0] * t + jitter[0], x_lo, x_hi)))
        y = int(round(np.clip(y0 + velocity[1] * t + jitter[1], y_lo, y_hi)))
        positions.append((x, y))
    return ObjectTrack(style=style, cell=cell, size=size, positions=positions)


def sample_scene(rng: np.random.Generator,
                 vid: str,
                 split: str,
                 styles: Sequence[CategoryStyle],
                 num_frames: int,
                 height: int,
                 width: int,
                 mode: str,
                 main_style: Optional[CategoryStyle] = None,
                 num_objects: Optional[int] = None,
                 silent_prob: float = 0.15,
                 larger_sounds_prob: Optional[float] = None) -> ClipScene:
    """Sample one clip scene.

    Args:
        rng (np.random.Generator): Random source of this clip.
        vid (str): Clip id.
        split (str): Split name.
        styles (Sequence[CategoryStyle]): Categories objects are drawn from (at least 3).
        num_frames (int): ``T``.
        height (int): Frame height (>= 16).
        width (int): Frame width (>= 16).
        mode (str): ``'single'`` or ``'multi'`` (see the module docstring).
        main_style (CategoryStyle, optional): Category of the main object (``'single'`` mode; in
            ``'multi'`` mode it is only sure to be visible); random when None.
        num_objects (int, optional): ``K``; random 2 or 3 when None.
        silent_prob (float): Probability that a frame has no sounding object.
        larger_sounds_prob (float, optional): The visual-bias probe (see the module docstring; ``'multi'``
            mode, two objects): probability that the sounding object of a frame is the larger one.

    Returns:
        ClipScene: The scene.

    Raises:
        ValueError: For an unknown mode, too few categories, too small frames, a bad ``num_objects`` or a
            ``larger_sounds_prob`` outside [0, 1] / not in ``'multi'`` mode / with ``num_objects`` other than 2.
    """
    if mode not in ('single', 'multi'):
        raise ValueError(f'sample_scene: mode must be "single" or "multi", got {mode!r}.')
    if len(styles) < 3:
        raise ValueError(f'sample_scene: need at least 3 categories, got {len(styles)}.')
    if min(height, width) < 16:
        raise ValueError(f'sample_scene: frames must be at least 16x16, got {height}x{width}.')
    if larger_sounds_prob is not None:
        if mode != 'multi' or num_objects not in (None, 2):
            raise ValueError('sample_scene: larger_sounds_prob (the visual-bias probe) needs mode "multi" and two '
                             f'objects, got mode {mode!r} and num_objects {num_objects!r}.')
        if not 0.0 <= larger_sounds_prob <= 1.0:
            raise ValueError(f'sample_scene: larger_sounds_prob must be in [0, 1], got {larger_sounds_prob}.')
        num_objects = 2
    num_objects = int(rng.integers(2, 4)) if num_objects is None else num_objects
    if not 2 <= num_objects <= min(len(GRID_CELLS), len(styles)):
        raise ValueError(f'sample_scene: num_objects must be in [2, {min(len(GRID_CELLS), len(styles))}], '
                         f'got {num_objects}.')
    if main_style is not None:
        pool = [s for s in styles if s.name != main_style.name]
        others = [pool[i] for i in rng.choice(len(pool), size=num_objects - 1, replace=False)]
        picked = [main_style] + others
    else:
        picked = [styles[i] for i in rng.choice(len(styles), size=num_objects, replace=False)]
    main_index = None
    if mode == 'single':  # the main object (picked[0]) goes to a random slot
        main_index = int(rng.integers(num_objects))
        picked[0], picked[main_index] = picked[main_index], picked[0]
    cells = [GRID_CELLS[i] for i in rng.choice(len(GRID_CELLS), size=num_objects, replace=False)]
    size_ranges = [OBJECT_SIZE_RANGE] * num_objects
    larger = None
    if larger_sounds_prob is not None:
        larger = int(rng.integers(2))
        size_ranges = [LARGER_SIZE_RANGE if k == larger else SMALLER_SIZE_RANGE for k in range(2)]
    objects = [
        _place_track(rng, style, cell, height, width, num_frames, size_range)
        for style, cell, size_range in zip(picked, cells, size_ranges)
    ]

    sounding = np.zeros((num_frames, num_objects), dtype=bool)
    for t in range(num_frames):
        if rng.random() < silent_prob:
            continue
        if larger is not None:
            sounding[t, larger if rng.random() < larger_sounds_prob else 1 - larger] = True
        elif mode == 'single':
            sounding[t, main_index] = True
        else:
            count = int(rng.integers(1, 3))
            sounding[t, rng.choice(num_objects, size=count, replace=False)] = True
    if not sounding.any():
        if larger is not None:
            first = larger if rng.random() < larger_sounds_prob else 1 - larger
        else:
            first = main_index if mode == 'single' else int(rng.integers(num_objects))
        sounding[0, first] = True
    return ClipScene(
        vid=vid,
        split=split,
        height=height,
        width=width,
        objects=objects,
        sounding=sounding,
        main_index=main_index)
