"""One frame with its class-index mask painted over it, and a legend strip below: :func:`draw_overlay`.

The legend names are drawn by MMEngine's :class:`~mmengine.visualization.Visualizer` (``draw_texts``,
matplotlib). The classes are blended by :func:`blend_masks`, which applies the OpenCV operations of
``Visualizer.draw_binary_masks`` to the array directly: the Visualizer renders its matplotlib canvas on
every ``set_image`` / ``get_image``, which made a 640x360 overlay cost about 0.06 s (0.1 s with the legend)
on a 2-core CPU, i.e. minutes for a video; the array path gives the same pixels
(``tests/test_visualization/test_overlay.py`` compares both) in about a millisecond.
"""
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np
from matplotlib.font_manager import FontProperties
from mmengine.visualization import Visualizer

#: Mask value never painted: the ignore index of ``AVSDataSample.gt_masks`` (frames without ground truth).
IGNORE_INDEX = 255

#: Legend strip: background colour and text colour (RGB).
LEGEND_BACKGROUND = (255, 255, 255)
LEGEND_TEXT_COLOR = (0, 0, 0)

RGB = Tuple[int, int, int]

#: Colour of the foreground of binary subsets when drawn (the datasets' own palette is the mask files' white,
#: which would not show on light frames nor in the white legend strip).
DEFAULT_BINARY_COLOR: RGB = (255, 0, 0)


def display_colors(palette: Sequence[Sequence[int]], binary_color: Sequence[int] = DEFAULT_BINARY_COLOR) -> List[RGB]:
    """The colours classes are drawn in: ``palette``, except that a two-class (binary) palette becomes black
    and ``binary_color``.

    Args:
        palette (Sequence[RGB]): A dataset's or a prediction's palette, one colour per class.
        binary_color (RGB): Foreground colour for binary palettes. Defaults to :data:`DEFAULT_BINARY_COLOR`.

    Returns:
        list[RGB]: One ``(r, g, b)`` tuple per class.
    """
    if len(palette) == 2:
        return [(0, 0, 0), tuple(int(c) for c in binary_color)]
    return [tuple(int(c) for c in color) for color in palette]


def legend_line_height(height: int, width: int) -> int:
    """Height in pixels of one legend line below a frame of ``height`` x ``width``: ``max(12, round(min/16))``."""
    return max(12, int(round(min(height, width) / 16)))


def present_classes(mask: np.ndarray, num_colors: int) -> List[int]:
    """The classes :func:`draw_overlay` paints in ``mask``, in increasing order.

    Args:
        mask (np.ndarray): Integer (or bool) ``[H, W]`` class indices.
        num_colors (int): Length of the palette (background included).

    Returns:
        list[int]: The values ``1 .. num_colors - 1`` found in ``mask`` (0 is background, 255 is ignored).

    Raises:
        ValueError: ``mask`` holds a value that is neither background, a class of the palette nor 255.
    """
    values = np.unique(mask).tolist()
    bad = [v for v in values if v != IGNORE_INDEX and not 0 <= v < num_colors]
    if bad:
        raise ValueError(f'draw_overlay: the mask holds class {bad[0]}, but the palette has {num_colors} colours '
                         f'(classes 0..{num_colors - 1}; {IGNORE_INDEX} = ignored, not painted)')
    return [int(v) for v in values if 0 < v < num_colors]


def _check_inputs(frame: np.ndarray, mask: np.ndarray, palette: Sequence[Sequence[int]],
                  alpha: float) -> Tuple[np.ndarray, List[RGB]]:
    """Validate the arguments of :func:`draw_overlay`; return the mask as int64 and the palette as tuples."""
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        got = f'{frame.dtype} {list(frame.shape)}' if isinstance(frame, np.ndarray) else type(frame).__name__
        raise ValueError(f'draw_overlay: frame must be a uint8 RGB array [H, W, 3], got {got}')
    mask = np.asarray(mask)
    if mask.dtype != np.bool_ and not np.issubdtype(mask.dtype, np.integer):
        raise ValueError(f'draw_overlay: mask must hold integer class indices, got dtype {mask.dtype}')
    if mask.shape != frame.shape[:2]:
        raise ValueError(f'draw_overlay: mask {list(mask.shape)} does not match the frame {list(frame.shape[:2])}')
    colors = []
    for index, color in enumerate(palette):
        if len(color) != 3 or not all(0 <= int(c) <= 255 for c in color):
            raise ValueError(f'draw_overlay: palette[{index}] must be an RGB triplet of 0..255, got {color}')
        colors.append(tuple(int(c) for c in color))
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f'draw_overlay: alpha must be in [0, 1], got {alpha}')
    return mask.astype(np.int64), colors


def _visualizer_image(visualizer: Optional[Visualizer]) -> np.ndarray:
    """``visualizer.get_image()``, failing clearly where MMEngine does not draw (processes other than rank 0)."""
    image = visualizer.get_image()
    if image is None:
        raise RuntimeError('draw_overlay draws with MMEngine\'s Visualizer, which only draws in the main '
                           'process (rank 0); call it there')
    return image


def draw_legend(width: int, line_height: int, classes: Sequence[int], colors: Sequence[RGB],
                class_names: Sequence[str], visualizer: Optional[Visualizer] = None) -> np.ndarray:
    """A legend strip: for each class a colour swatch then the class name, in lines of equal columns.

    Each entry is a square swatch of side ``line_height - 4`` filled with exactly ``colors[c]`` (2 pixels
    from the left and top of its cell) and the name ``class_names[c]`` in black after it. The cells are as
    wide as the widest entry (swatch, name measured by matplotlib, half a line of spacing); as many columns
    as fit in ``width`` (at least one), filled left to right, then top to bottom; the rest is white.

    Args:
        width (int): Width of the strip ``W``.
        line_height (int): Height of one line ``L`` in pixels.
        classes (Sequence[int]): The classes to list, in this order.
        colors (Sequence[RGB]): Palette (indexed by class).
        class_names (Sequence[str]): Names (indexed by class).
        visualizer (Visualizer, optional): The visualiser to draw the names with. Defaults to a new one.

    Returns:
        np.ndarray: uint8 RGB ``[ceil(n / columns) * L, W, 3]`` for ``n`` classes (``[0, W, 3]`` for none).
    """
    if not classes:
        return np.empty((0, width, 3), dtype=np.uint8)
    visualizer = visualizer if visualizer is not None else Visualizer()
    names = [str(class_names[c]) for c in classes]
    font_size = 0.6 * line_height * 72 / visualizer.dpi  # points: 60 % of the line height in pixels
    renderer = visualizer.fig_save_canvas.get_renderer()
    font = FontProperties(size=font_size, family='sans-serif')
    text_width = max(renderer.get_text_width_height_descent(name, font, ismath=False)[0] for name in names)
    cell = line_height + 2 + int(np.ceil(text_width)) + line_height // 2
    columns = max(1, min(len(classes), width // cell))
    lines = -(-len(classes) // columns)
    strip = np.empty((lines * line_height, width, 3), dtype=np.uint8)
    strip[...] = LEGEND_BACKGROUND
    side = line_height - 4
    corners = [((i % columns) * cell, (i // columns) * line_height) for i in range(len(classes))]
    for (left, top), cls in zip(corners, classes):
        strip[top + 2:top + 2 + side, left + 2:left + 2 + side] = colors[cls]
    visualizer.set_image(strip)
    positions = np.array([[left + line_height + 2, top + 0.5 * line_height] for left, top in corners])
    visualizer.draw_texts(names, positions, font_sizes=font_size, colors=LEGEND_TEXT_COLOR,
                          vertical_alignments='center', font_families='sans-serif')
    return _visualizer_image(visualizer)


def draw_overlay(frame: np.ndarray,
                 mask: np.ndarray,
                 palette: Sequence[Sequence[int]],
                 class_names: Sequence[str],
                 alpha: float = 0.5,
                 legend: bool = True,
                 visualizer: Optional[Visualizer] = None) -> np.ndarray:
    """Paint the classes of ``mask`` over ``frame``, with a legend of the classes present below it.

    Pixels of class ``c != 0`` become ``(1 - alpha) * frame + alpha * palette[c]``, per channel, rounded to
    the nearest integer, exact halves to the even one. (This is OpenCV's ``addWeighted``, used by MMEngine's
    ``Visualizer.draw_binary_masks``; it computes in single precision, so for alphas other than 0, 0.25,
    0.5, 0.75 and 1 a value within about 1e-4 of a half can round the other way: at most 1 off
    ``np.rint`` of the exact value.) Background pixels (class 0) and pixels of the ignore index 255
    (``AVSDataSample.gt_masks`` of frames without ground truth) keep the frame's colour exactly.

    With ``legend=True`` a white strip is added below the frame (:func:`draw_legend`): the classes present
    (increasing class index), each as a swatch of exactly ``palette[c]`` then ``class_names[c]`` in black,
    in lines of :func:`legend_line_height` pixels, as many per line as fit the width. With no class present
    (or ``legend=False``) nothing is added.

    Args:
        frame (np.ndarray): uint8 RGB ``[H, W, 3]``.
        mask (np.ndarray): Integer ``[H, W]`` class indices (binary: 0 / 1; bool accepted).
        palette (Sequence[RGB]): One ``(r, g, b)`` colour per class, index 0 = background (not painted).
        class_names (Sequence[str]): One name per class (only the names of the classes present are used).
        alpha (float): Weight of the class colour, in ``[0, 1]``. Defaults to 0.5.
        legend (bool): Add the legend strip. Defaults to True.
        visualizer (Visualizer, optional): The MMEngine visualiser to draw with (its current image is
            replaced). Defaults to a new ``Visualizer``.

    Returns:
        np.ndarray: uint8 RGB ``[H', W, 3]``, ``H' = H + lines * legend_line_height(H, W)`` (``lines`` = 0
        without legend); rows ``[0, H)`` are the overlaid frame.

    Raises:
        ValueError: Wrong frame / mask type or shape, mask shape different from the frame's, a palette entry
            that is not an RGB triplet, ``alpha`` outside ``[0, 1]``, a mask value outside the palette
            (other than 255), or a class present without a name.
        RuntimeError: Called in a process other than the main one (MMEngine draws on rank 0 only).

    Examples:
        >>> import numpy as np
        >>> frame = np.full((4, 6, 3), 100, dtype=np.uint8)
        >>> mask = np.zeros((4, 6), dtype=np.int64)
        >>> mask[1:3, 2:4] = 1
        >>> out = draw_overlay(frame, mask, [(0, 0, 0), (255, 0, 0)], ['background', 'sounding'])
        >>> out.shape, out[1, 2].tolist(), out[0, 0].tolist()
        ((16, 6, 3), [178, 50, 50], [100, 100, 100])
    """
    mask, colors = _check_inputs(frame, mask, palette, alpha)
    classes = present_classes(mask, len(colors))
    unnamed = [c for c in classes if c >= len(class_names)]
    if unnamed:
        raise ValueError(f'draw_overlay: the mask holds class {unnamed[0]}, which has no name (class_names holds '
                         f'{len(class_names)})')
    overlaid = blend_masks(frame, mask, classes, colors, alpha)
    if not legend or not classes:
        return overlaid
    height, width = frame.shape[:2]
    visualizer = visualizer if visualizer is not None else Visualizer()
    strip = draw_legend(width, legend_line_height(height, width), classes, colors, class_names, visualizer)
    return np.concatenate([overlaid, strip], axis=0)


def blend_masks(frame: np.ndarray, mask: np.ndarray, classes: Sequence[int], colors: Sequence[RGB],
                alpha: float) -> np.ndarray:
    """Blend the colours of ``classes`` into ``frame`` where ``mask`` holds them, as
    ``Visualizer.draw_binary_masks`` does with one binary mask per class.

    MMEngine applies ``addWeighted(img, 1 - alpha, layer, alpha)`` once per mask, ``layer`` being the colour
    inside the mask and the image outside (so outside nothing changes). The classes of one index mask are
    disjoint, so one pass with all colours in one layer gives the same pixels, at the cost of one mask
    instead of one per class (AVSS frames can hold dozens).

    Args:
        frame (np.ndarray): uint8 RGB ``[H, W, 3]`` (not modified).
        mask (np.ndarray): Integer ``[H, W]`` class indices.
        classes (Sequence[int]): The classes to paint (others keep the frame's colour).
        colors (Sequence[RGB]): Palette, indexed by class.
        alpha (float): Weight of the colours.

    Returns:
        np.ndarray: uint8 RGB ``[H, W, 3]``.
    """
    if not len(classes):
        return frame.copy()
    layer = frame.copy()
    painted = np.isin(mask, np.asarray(classes))
    lut = np.zeros((max(classes) + 1, 3), dtype=np.uint8)
    lut[list(classes)] = [colors[c] for c in classes]
    layer[painted] = lut[mask[painted]]
    return cv2.addWeighted(frame, 1 - float(alpha), layer, float(alpha), 0)
