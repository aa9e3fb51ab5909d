"""What the demos write: the input with the predicted masks overlaid (a video with its sound), and mask PNGs.

Overlays are drawn by :func:`mmavs.visualization.draw_overlay` (dataset palette, legend of the classes present
below the frame). A video needs one frame size, so every overlay is padded at the bottom with the legend's
background to the tallest legend of the input (``H + n * line_height``, ``n`` the most classes present in
one mask). Mask ``k`` covers the ``k``-th sampling interval ``[k / fps, (k + 1) / fps)``: every frame of that
interval shows it (AVSBench annotates one frame per second; the frame of second ``k`` is sampled at
``k + 15/16`` s), frames after the last interval show the last mask.
"""
import json
import os
import os.path as osp
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.visualization import Visualizer

from mmavs.engine.atomic_file import atomic_write
from mmavs.evaluation.mask_files import write_pred_mask
from mmavs.visualization import display_colors, draw_legend, draw_overlay, legend_line_height, present_classes
from mmavs.visualization.overlay import LEGEND_BACKGROUND, RGB

from .inferencer import AVSPrediction

#: Seconds of slack when a frame time is put into a sampling interval (rational times in floats).
_EPS = 1e-6


def draw_legends(pred: AVSPrediction, mask_classes: Sequence[Tuple[int, ...]], colors: Sequence[RGB], height: int,
                 width: int, visualizer: Visualizer) -> Dict[Tuple[int, ...], np.ndarray]:
    """The legend strip of every set of classes that one of ``pred``'s masks holds, drawn once each.

    Args:
        mask_classes (Sequence[tuple]): The classes present in each of ``pred.masks``.

    Returns:
        dict: class tuple -> uint8 RGB ``[h, width, 3]`` (:func:`~mmavs.visualization.draw_legend`).
    """
    legends: Dict[Tuple[int, ...], np.ndarray] = {}
    for classes in mask_classes:
        if classes and classes not in legends:
            legends[classes] = draw_legend(width, legend_line_height(height, width), classes, colors,
                                           pred.classes, visualizer)
    return legends


def mask_index(pred: AVSPrediction, time: float) -> int:
    """Index of the mask shown at ``time`` (seconds from the first frame): its sampling interval's."""
    return int(min(max(np.floor(time * pred.sampling.fps + _EPS), 0), pred.num_frames - 1))


def overlay_frames(pred: AVSPrediction, frames: Iterable[Tuple[float, np.ndarray]], alpha: float = 0.5,
                   legend: bool = True) -> Iterator[Tuple[float, np.ndarray]]:
    """Overlay each frame with the mask of its interval (:func:`mask_index`), padded to one height.

    Args:
        pred (AVSPrediction): The predictions; masks at the frames' size.
        frames (Iterable[tuple[float, np.ndarray]]): ``(time, frame)``, frames uint8 RGB ``[H, W, 3]``.
        alpha (float): Weight of the class colours (:func:`~mmavs.visualization.draw_overlay`).
        legend (bool): Draw the legend strip.

    Yields:
        tuple[float, np.ndarray]: ``(time, overlay)``, uint8 RGB ``[H', W, 3]`` with one ``H'`` for all.
    """
    visualizer = Visualizer.get_instance('mmavs_overlay_video')  # one drawing canvas for every call
    colors = display_colors(pred.palette)  # binary: red, not the mask files' white
    legends: Optional[Dict[Tuple[int, ...], np.ndarray]] = None
    mask_classes = [tuple(present_classes(mask, len(colors))) for mask in pred.masks]  # once per mask
    total = 0
    for time, frame in frames:
        index = mask_index(pred, time)
        mask = pred.masks[index]
        if mask.shape != frame.shape[:2]:
            raise ValueError(f'"{pred.name}": mask {list(mask.shape)} for a frame of {list(frame.shape[:2])}')
        if legends is None:  # every legend is drawn once, and frames padded to the tallest
            legends = draw_legends(pred, mask_classes, colors, *frame.shape[:2], visualizer) if legend else {}
            total = frame.shape[0] + max([strip.shape[0] for strip in legends.values()], default=0)
        drawn = draw_overlay(frame, mask, colors, pred.classes, alpha=alpha, legend=False)
        if mask_classes[index] in legends:
            drawn = np.concatenate([drawn, legends[mask_classes[index]]], axis=0)
        if drawn.shape[0] < total:
            pad = np.empty((total - drawn.shape[0], ) + drawn.shape[1:], dtype=np.uint8)
            pad[...] = LEGEND_BACKGROUND
            drawn = np.concatenate([drawn, pad], axis=0)
        yield time, drawn


def save_prediction_masks(pred: AVSPrediction, out_dir: str, subset: str) -> List[str]:
    """Write one PNG per sampled frame and a JSON index of them.

    Files: ``{out_dir}/{name}_{k:05d}.png`` (``k`` the sampled frame, from 0), written by
    :func:`mmavs.evaluation.mask_files.write_pred_mask` in the AVSBench formats (S4 / MS3: 0 / 255 grey;
    AVSS: class index with the dataset palette), and ``{out_dir}/{name}_masks.json``: ``classes``,
    ``palette``, ``sampling`` and per frame ``file``, ``time`` (s), ``clip`` (clip id) and ``frame_index``
    (decoded frame of the video, null for frame folders).

    Args:
        pred (AVSPrediction): The predictions.
        out_dir (str): Output folder (created).
        subset (str): ``'s4'``, ``'ms3'`` or ``'avss'`` (the mask format).

    Returns:
        list[str]: The PNG paths.
    """
    os.makedirs(out_dir, exist_ok=True)
    paths, frames = [], []
    for k, mask in enumerate(pred.masks):
        name = f'{pred.name}_{k:05d}.png'
        paths.append(osp.join(out_dir, name))
        write_pred_mask(paths[-1], mask, subset, pred.palette)
        index: Optional[int] = None if pred.frame_indices is None else int(pred.frame_indices[k])
        frames.append(dict(file=name, time=float(pred.frame_times[k]),
                           clip=pred.clip_ids[int(pred.frame_clips[k])], frame_index=index))
    index_file = dict(name=pred.name, classes=list(pred.classes), palette=pred.palette,
                      sampling=pred.sampling.describe(), frames=frames)
    atomic_write(osp.join(out_dir, f'{pred.name}_masks.json'), json.dumps(index_file, indent=1).encode())
    return paths
