"""``AVSLocalVisualizer``: a clip's frames with its ground truth and prediction, as one image."""
from typing import List, Optional, Sequence, Tuple

import mmcv
import numpy as np
import torch
from mmengine.dist import master_only
from mmseg.visualization import SegLocalVisualizer

from mmavs.registry import VISUALIZERS
from mmavs.structures import AVSDataSample

from .overlay import DEFAULT_BINARY_COLOR, RGB, display_colors, draw_overlay

#: Classes used until a dataset's meta information is set (those of the binary subsets S4 and MS3).
DEFAULT_CLASSES: Tuple[str, ...] = ('background', 'sounding object')


def _as_numpy(value) -> np.ndarray:
    return value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)


def clip_frames(frames) -> np.ndarray:
    """A clip's frames as uint8 RGB ``[T, H, W, 3]``.

    Args:
        frames (Tensor | np.ndarray): uint8 ``[T, 3, H, W]`` (``inputs['frames']`` of ``PackAVSInputs``) or
            ``[T, H, W, 3]``.

    Returns:
        np.ndarray: uint8 ``[T, H, W, 3]``.
    """
    frames = _as_numpy(frames)
    if frames.ndim != 4 or frames.dtype != np.uint8 or 3 not in (frames.shape[1], frames.shape[3]):
        raise ValueError(f'AVSLocalVisualizer: frames must be uint8 [T, 3, H, W] or [T, H, W, 3], got '
                         f'{frames.dtype} {list(frames.shape)}')
    return np.ascontiguousarray(frames if frames.shape[3] == 3 else frames.transpose(0, 2, 3, 1))


@VISUALIZERS.register_module()
class AVSLocalVisualizer(SegLocalVisualizer):
    """mmseg's ``SegLocalVisualizer`` for clips: frames in columns, ground truth and prediction in rows.

    :meth:`add_datasample` draws one image per clip: one column per real frame (``frame_flags``; padded
    AVSS frames are left out), a row with the ground truth painted over the frames, then a row with the
    prediction, panels separated by ``gap`` white pixels, and below them one legend for the clip (the
    classes present in any panel): :func:`~mmavs.visualization.draw_overlay` of the grid of frames and the
    grid of masks, so its colours and rounding hold for every panel. Frames without ground truth
    (``gt_flags`` False, masks 255) show the bare frame in the ground-truth row. The rows are not
    labelled (as in mmseg, where ground truth is left and prediction right).

    Colours: with two classes (S4, MS3: background and 'sounding object') the foreground is painted in
    ``binary_color``; with more (AVSS) class ``c`` is painted in the dataset's ``palette[c]`` and named
    ``classes[c]``. The dataset's meta information (``classes``, ``palette``) is set by MMEngine's
    val / test loops (``dataset_meta``) or by ``classes`` / ``palette`` here.

    Args:
        name (str): Instance name. Defaults to 'visualizer'.
        image (np.ndarray, optional): Image to draw on first. Defaults to None.
        vis_backends (list[dict], optional): Storage backends. Defaults to None.
        save_dir (str, optional): Folder of the backends' files. Defaults to None.
        classes (Sequence[str], optional): Class names, background first. Defaults to the binary classes.
        palette (Sequence[RGB], optional): One colour per class. Defaults to black and ``binary_color``.
        dataset_name (str, optional): Unused (mmseg's look-up of class names); accepted for compatibility.
        alpha (float): Weight of the class colour in the painted pixels. Defaults to 0.5.
        binary_color (RGB): Foreground colour of binary subsets. Defaults to red ``(255, 0, 0)``.
        gap (int): White pixels between panels. Defaults to 2.
        **kwargs: MMEngine ``Visualizer`` arguments (``fig_save_cfg``, ``fig_show_cfg``).
    """

    def __init__(self,
                 name: str = 'visualizer',
                 image: Optional[np.ndarray] = None,
                 vis_backends: Optional[List[dict]] = None,
                 save_dir: Optional[str] = None,
                 classes: Optional[Sequence[str]] = None,
                 palette: Optional[Sequence[RGB]] = None,
                 dataset_name: Optional[str] = None,
                 alpha: float = 0.5,
                 binary_color: Sequence[int] = DEFAULT_BINARY_COLOR,
                 gap: int = 2,
                 **kwargs) -> None:
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f'AVSLocalVisualizer: alpha must be in [0, 1], got {alpha}')
        if gap < 0:
            raise ValueError(f'AVSLocalVisualizer: gap must be >= 0, got {gap}')
        self.binary_color: RGB = tuple(int(c) for c in binary_color)
        self.gap = int(gap)
        super().__init__(name, image, vis_backends, save_dir, alpha=alpha, **kwargs)
        # SegLocalVisualizer.__init__ passes (palette, classes) in swapped order: set them here
        self.set_dataset_meta(classes, palette, dataset_name)

    # ------------------------------------------------------------------ meta information
    def set_dataset_meta(self,
                         classes: Optional[Sequence[str]] = None,
                         palette: Optional[Sequence[Sequence[int]]] = None,
                         dataset_name: Optional[str] = None) -> None:
        """Set ``classes`` and ``palette`` (defaults: the binary classes, black and ``binary_color``).

        ``dataset_name`` is accepted for mmseg compatibility and unused (AVS datasets carry their meta
        information).
        """
        classes = tuple(classes) if classes else DEFAULT_CLASSES
        palette = [tuple(int(c) for c in color) for color in palette] if palette else None
        if palette is None:
            if len(classes) != 2:
                raise ValueError(f'AVSLocalVisualizer: a palette is needed for {len(classes)} classes')
            palette = [(0, 0, 0), self.binary_color]
        if len(palette) != len(classes):
            raise ValueError(f'AVSLocalVisualizer: {len(classes)} classes but {len(palette)} palette colours')
        self.dataset_meta = dict(classes=classes, palette=palette)

    def class_colors(self) -> Tuple[List[RGB], Tuple[str, ...]]:
        """The colours and names drawn: the palette, with ``binary_color`` for class 1 of two classes.

        Returns:
            tuple: ``(colors, classes)``, one RGB tuple and one name per class.
        """
        meta = self.dataset_meta or {}
        classes = tuple(meta.get('classes') or DEFAULT_CLASSES)
        palette = meta.get('palette')
        if len(classes) == 2 or not palette:
            return display_colors([(0, 0, 0)] * 2, self.binary_color), classes
        if len(palette) < len(classes):
            raise ValueError(f'AVSLocalVisualizer: {len(classes)} classes but {len(palette)} palette colours')
        return display_colors(palette), classes

    # ------------------------------------------------------------------ drawing
    def draw_clip(self,
                  frames: np.ndarray,
                  masks: Sequence[np.ndarray],
                  frame_flags: Optional[np.ndarray] = None,
                  legend: bool = True) -> np.ndarray:
        """Draw rows of masks over a clip's frames (see the class docstring for the layout).

        Args:
            frames (np.ndarray): uint8 RGB ``[T, H, W, 3]``.
            masks (Sequence[np.ndarray]): One integer ``[T, H, W]`` array per row (top to bottom).
            frame_flags (np.ndarray, optional): bool ``[T]``; columns are the frames flagged True.
                Defaults to all frames.
            legend (bool): Add the clip's legend below the rows. Defaults to True.

        Returns:
            np.ndarray: uint8 RGB ``[R * H + (R - 1) * gap + n * L, N * W + (N - 1) * gap, 3]`` for ``R`` rows,
            ``N`` frames and ``n`` classes present, ``L = legend_line_height`` of the grid (``n = 0`` without
            legend): :func:`~mmavs.visualization.draw_overlay` of the grid of frames and masks.
        """
        frames = clip_frames(frames)
        num_frames, height, width = frames.shape[:3]
        flags = np.ones(num_frames, bool) if frame_flags is None else _as_numpy(frame_flags).astype(bool)
        columns = np.flatnonzero(flags)
        if not len(masks) or not len(columns):
            raise ValueError('AVSLocalVisualizer.draw_clip: nothing to draw (no mask row or no real frame)')
        colors, classes = self.class_colors()
        arrays = [_as_numpy(m) for m in masks]
        for row, array in enumerate(arrays):
            if array.shape != (num_frames, height, width):
                raise ValueError(f'AVSLocalVisualizer.draw_clip: mask row {row} is {list(array.shape)}, the frames '
                                 f'are {[num_frames, height, width]}')
        gap = self.gap
        grid_shape = (len(arrays) * (height + gap) - gap, len(columns) * (width + gap) - gap)
        grid = np.full(grid_shape + (3, ), 255, np.uint8)
        grid_mask = np.zeros(grid_shape, np.int64)
        for row, array in enumerate(arrays):
            for col, t in enumerate(columns):
                top, left = row * (height + gap), col * (width + gap)
                grid[top:top + height, left:left + width] = frames[t]
                grid_mask[top:top + height, left:left + width] = array[t]
        return draw_overlay(grid, grid_mask, colors, classes, alpha=self.alpha, legend=legend, visualizer=self)

    @master_only
    def add_datasample(self,
                       name: str,
                       image: np.ndarray,
                       data_sample: Optional[AVSDataSample] = None,
                       draw_gt: bool = True,
                       draw_pred: bool = True,
                       show: bool = False,
                       wait_time: float = 0,
                       out_file: Optional[str] = None,
                       step: int = 0,
                       with_labels: Optional[bool] = True) -> np.ndarray:
        """Draw a clip with its ground truth and prediction; show it, write it or give it to the backends.

        Args:
            name (str): Image identifier (window title, backend image name).
            image (np.ndarray | Tensor): The clip's frames, uint8 RGB ``[T, 3, H, W]`` or ``[T, H, W, 3]``
                at the size of the sample's masks (``inputs['frames']`` of the test pipeline).
            data_sample (AVSDataSample, optional): With ``gt_masks`` and / or ``pred_masks`` ``[T, H, W]``
                and ``frame_flags``. Defaults to None (the bare frames).
            draw_gt (bool): Draw the ground-truth row (when ``gt_masks`` is set). Defaults to True.
            draw_pred (bool): Draw the prediction row (when ``pred_masks`` is set). Defaults to True.
            show (bool): Display the image (matplotlib window). Defaults to False.
            wait_time (float): Seconds the window stays (0: until a key). Defaults to 0.
            out_file (str, optional): Write the image to this file (PNG by extension) instead of the backends.
            step (int): Global step recorded by the backends. Defaults to 0.
            with_labels (bool): Add the legend. Defaults to True.

        Returns:
            np.ndarray: The drawn image, uint8 RGB (:meth:`draw_clip`).
        """
        frames = clip_frames(image)
        rows = []
        if data_sample is not None:
            if draw_gt and 'gt_masks' in data_sample:
                rows.append(data_sample.gt_masks)
            if draw_pred and 'pred_masks' in data_sample:
                rows.append(data_sample.pred_masks)
        if not rows:  # the bare frames
            rows.append(np.zeros(frames.shape[:3], np.int64))
        flags = data_sample.get('frame_flags') if data_sample is not None else None
        drawn = self.draw_clip(frames, rows, flags, legend=bool(with_labels))
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            mmcv.imwrite(mmcv.rgb2bgr(drawn), out_file)
        else:
            self.add_image(name, drawn, step)
        return drawn
