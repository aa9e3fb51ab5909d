"""Qualitative comparison figure: clips with their ground truth and the masks of several methods (PNG + PDF).

Layout (as Figure 1 of the AVSBench paper): **columns are frames** (the clip's real frames, padded AVSS
frames left out), and for each clip **rows are the input frames, the ground truth, then one row per method**,
in the order of ``--method``. Several clips are stacked top to bottom. Masks are painted over the frames
(:class:`mmavs.visualization.AVSLocalVisualizer`: binary subsets in one colour, AVSS in the dataset palette);
each row is labelled on the left (the clip id on its first row) and one legend of the classes drawn (AVSS
class names) is added below. The panels are drawn at their pixel size (``--scale`` enlarges them), so the
PNG holds the colours exactly; the PDF embeds the same image.

Methods (``--method NAME=SPEC``, repeated or several after one flag):

- ``NAME=CONFIG:CHECKPOINT``: the model of ``CONFIG`` with ``CHECKPOINT`` (loaded strictly), run on each
  clip through ``CONFIG``'s own test dataset and pipeline (same split and data root; masks at another size
  than the figure's ground truth are resized, nearest neighbour). The model is built from the config
  without a Runner (``MODELS.build`` + ``mmavs.engine.load_model_checkpoint``).
- ``NAME=DIR``: saved masks in the AVSBench ``pred_masks`` layout (``tools/test.py --save-pred DIR``, or any
  other repository's), read with ``mmavs.evaluation.mask_files`` (``read_clip_pred_masks`` /
  ``read_pred_mask``); they must have the size of the ground truth.

Clips: ``--clips vid ...`` (names as in the dataset: S4 / MS3 video names, AVSS ``uid``), or
``--most-different N``: the ``N`` clips where the first two methods differ most in per-clip J, computed with
the metric functions of ``mmavs.evaluation.functional`` over the clip's frames with ground truth: binary,
the mean legacy frame IoU (``binary_frame_stats`` + ``legacy_frame_iou``, the ``J_frame`` definition); AVSS,
the per-class legacy J (``semantic_mask_stats`` + ``legacy_class_scores``) averaged over the classes in the
clip's ground truth (the ``mJ_present`` definition).

The ground truth and frames come from ``--dataset-config`` (default: the config of the first checkpoint
method), its test dataset on ``--split`` (every clip with its own audio).

Examples::

    python tools/analysis_tools/qualitative.py --method Baseline=configs/baseline/baseline_pvt_s4.py:base.pth \\
        ICF=configs/icl/icl_pvt_s4.py:icf.pth --most-different 4 --out work_dirs/figures/s4_diff
    python tools/analysis_tools/qualitative.py --dataset-config configs/baseline/baseline_pvt_avss.py \\
        --method Ours=results/avss_test Other=other_repo/pred_masks --clips _Ue5W8UUiLk_2 --out avss
"""
import argparse
import os.path as osp
import sys
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from mmengine.config import Config, DictAction
from rich.console import Console
from rich.table import Table

from mmavs.apis import init_model
from mmavs.apis.split_data import build_split_dataset, predict_samples
from mmavs.evaluation.functional import (
    binary_frame_stats,
    binary_masks_to_logits,
    legacy_class_scores,
    legacy_frame_iou,
    semantic_mask_stats,
)
from mmavs.evaluation.mask_files import PredMaskError, read_clip_pred_masks
from mmavs.evaluation.metrics.avs_metric import mean_or_nan
from mmavs.utils import register_all_modules
from mmavs.utils.tool_args import parse_model_spec
from mmavs.utils.work_dir import WorkDirError, check_dir_writable
from mmavs.visualization import AVSLocalVisualizer, draw_legend, legend_line_height

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from eval_masks import resolve_pred_dir  # noqa: E402  (the --save-pred DIR / pred_masks rule of eval_masks.py)

#: White pixels between panels, and between the blocks of two clips.
PANEL_GAP = 2
CLIP_GAP = 8
#: Resolution the figure is saved with (the panels are drawn 1:1 in pixels whatever it is).
DPI = 100


class Method(NamedTuple):
    """A ``--method NAME=SPEC``: ``folder`` (saved masks) or ``config`` + ``checkpoint``."""
    name: str
    config: Optional[str] = None
    checkpoint: Optional[str] = None
    folder: Optional[str] = None


class Clip(NamedTuple):
    """One clip of the figure's dataset: frames uint8 ``[T, H, W, 3]``, masks int64 ``[T, H, W]``."""
    vid: str
    frames: np.ndarray
    gt_masks: np.ndarray
    gt_flags: np.ndarray
    frame_flags: np.ndarray
    meta: dict


# ----------------------------------------------------------------------------------------------- arguments
def parse_method(spec: str) -> Method:
    """Parse and check one ``--method`` value.

    Args:
        spec (str): ``NAME=CONFIG:CHECKPOINT`` (``CONFIG`` ends with ``.py``) or ``NAME=DIR``.

    Returns:
        Method: The parsed method.

    Raises:
        ValueError: No ``=`` or an empty name or spec.
        FileNotFoundError: The config, checkpoint or folder does not exist (named in the message).
    """
    name, sep, value = spec.partition('=')
    if not sep or not name.strip() or not value:
        raise ValueError(f'--method {spec!r}: expected NAME=CONFIG:CHECKPOINT or NAME=DIR (e.g. '
                         'ICF=configs/icl/icl_pvt_s4.py:icf.pth, or Ours=results/s4_test)')
    name = name.strip()
    if '.py:' in value:
        model = parse_model_spec(f'{name}={value}', '--method')
        return Method(name, config=model.config, checkpoint=model.checkpoint)
    if not osp.isdir(value):
        raise FileNotFoundError(f'--method {name}: folder of saved masks "{value}" does not exist (give '
                                'NAME=DIR for a pred_masks folder, or NAME=CONFIG.py:CHECKPOINT)')
    return Method(name, folder=value)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--method', nargs='+', action='extend', required=True, metavar='NAME=SPEC',
                        help='NAME=CONFIG:CHECKPOINT (run the model) or NAME=DIR (saved pred_masks); one row each')
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument('--clips', nargs='+', metavar='VID', help='the clips to show, by name')
    which.add_argument('--most-different', type=int, metavar='N',
                       help='the N clips where the first two methods differ most in per-clip J')
    parser.add_argument('--out', required=True, help='output path without extension: writes OUT.png and OUT.pdf')
    parser.add_argument('--dataset-config', help='config whose test dataset gives frames and ground truth '
                        '(default: the config of the first CONFIG:CHECKPOINT method)')
    parser.add_argument('--split', default='test', help='dataset split (default: test)')
    parser.add_argument('--data-root', help='data root of every dataset (default: each config\'s own)')
    parser.add_argument('--alpha', type=float, default=0.5, help='weight of the mask colour (default: 0.5)')
    parser.add_argument('--scale', type=int, default=1, help='enlarge the panels this many times (default: 1)')
    parser.add_argument('--device', default='cpu', help='device of the CONFIG:CHECKPOINT models (default: cpu)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='overrides of every config given, key=value')
    args = parser.parse_args(argv)
    if args.most_different is not None and args.most_different < 1:
        parser.error('--most-different N needs N >= 1')
    if args.scale < 1 or not 0.0 <= args.alpha <= 1.0:
        parser.error('--scale must be >= 1 and --alpha in [0, 1]')
    return args


# ----------------------------------------------------------------------------------------------- data and predictions
def load_cfg(path: str, cfg_options: Optional[dict]) -> Config:
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def clip_indices(dataset, vids: Sequence[str]) -> List[int]:
    """Dataset indices of ``vids``; a ValueError names the first clip the split does not have."""
    index = {dataset.get_data_info(i)['vid']: i for i in range(len(dataset))}
    for vid in vids:
        if vid not in index:
            known = ', '.join(list(index)[:5]) + (', ...' if len(index) > 5 else '')
            raise ValueError(f'clip {vid!r} is not in split {dataset.split!r} of {type(dataset).__name__} at '
                             f'"{dataset.data_root}" ({len(index)} clips: {known})')
    return [index[vid] for vid in vids]


def load_clip(dataset, index: int) -> Clip:
    """Frames, ground truth and flags of one clip, through the dataset's pipeline."""
    item = dataset[index]
    sample = item['data_samples']
    return Clip(sample.metainfo['vid'], item['inputs']['frames'].permute(0, 2, 3, 1).numpy(),
                sample.gt_masks.numpy(), sample.gt_flags.numpy(), sample.frame_flags.numpy(), dict(sample.metainfo))


def model_predictions(method: Method, vids: Sequence[str], split: str, data_root: Optional[str],
                      cfg_options: Optional[dict], device: str = 'cpu') -> Dict[str, np.ndarray]:
    """``pred_masks`` int64 ``[T, H, W]`` of ``vids`` by the model of a ``CONFIG:CHECKPOINT`` method.

    The model is built by :func:`mmavs.apis.init_model` (no Runner, strict load) and run on each clip as its
    own test dataset and pipeline give it.
    """
    cfg = load_cfg(method.config, cfg_options)
    dataset = build_split_dataset(cfg, split, data_root)
    indices = clip_indices(dataset, vids)
    model = init_model(cfg, method.checkpoint, device=device)
    masks = {}
    for vid, sample in zip(vids, predict_samples(model, dataset, batch_size=1, indices=indices)):
        masks[vid] = sample.pred_masks.cpu().numpy().astype(np.int64)
    return masks


def folder_predictions(method: Method, clips: Sequence[Clip], palette) -> Dict[str, np.ndarray]:
    """Saved masks of ``clips`` in a ``pred_masks`` folder (or a ``--save-pred`` DIR holding one)."""
    root, _ = resolve_pred_dir(method.folder)
    masks, problems = {}, []
    for clip in clips:
        clip_masks, clip_problems = read_clip_pred_masks(root, clip.meta, clip.gt_masks.shape[-2:], palette)
        problems += clip_problems
        if clip_masks is not None:
            masks[clip.vid] = clip_masks
    if problems:
        raise PredMaskError(f'--method {method.name}: {len(problems)} problem(s) in "{root}":\n  '
                            + '\n  '.join(problems[:20]))
    return masks


def fit_to(masks: np.ndarray, shape: Tuple[int, int]) -> np.ndarray:
    """``masks`` ``[T, h, w]`` at ``shape`` ``(H, W)`` (nearest neighbour; unchanged when it already is)."""
    if masks.shape[-2:] == tuple(shape):
        return masks
    resized = F.interpolate(torch.from_numpy(masks)[:, None].float(), size=tuple(shape), mode='nearest')
    return resized[:, 0].long().numpy()


# ----------------------------------------------------------------------------------------------- per-clip J
def clip_j(pred: np.ndarray, gt: np.ndarray, gt_flags: np.ndarray, num_classes: int) -> float:
    """Per-clip J over the clip's frames with ground truth, from ``mmavs.evaluation.functional``.

    Args:
        pred (np.ndarray): int ``[T, H, W]`` predicted masks (0 / 1, or class indices).
        gt (np.ndarray): int ``[T, H, W]`` ground truth (255 ignored).
        gt_flags (np.ndarray): bool ``[T]``: frames with ground truth.
        num_classes (int): 2 for binary subsets (S4, MS3), the number of classes for AVSS.

    Returns:
        float: Binary: mean legacy frame IoU (``J_frame``). AVSS: legacy per-class J averaged over the classes
        in the clip's ground truth (``mJ_present``). NaN without a frame with ground truth.
    """
    keep = np.flatnonzero(gt_flags)
    if not len(keep):
        return float('nan')
    pred_t, gt_t = torch.from_numpy(pred[keep]).long(), torch.from_numpy(gt[keep]).long()
    if num_classes == 2:
        stats = binary_frame_stats(binary_masks_to_logits(pred_t), gt_t)
        return float(legacy_frame_iou(stats['inter'], stats['pred_area'], stats['gt_area'], stats['num_valid']).mean())
    stats = semantic_mask_stats(pred_t, gt_t, num_classes)
    class_j, _, _ = legacy_class_scores(stats['inter'], stats['pred_area'], stats['gt_area'])
    return mean_or_nan(class_j, stats['gt_area'].sum(0) > 0)


def most_different(clips: Sequence[Clip], preds: Sequence[Dict[str, np.ndarray]], num_classes: int,
                   count: int) -> List[Tuple[str, float, float]]:
    """The ``count`` clips with the largest ``|J_a - J_b|`` of two methods (ties: dataset order).

    Returns:
        list[tuple[str, float, float]]: ``(vid, J_a, J_b)``, largest difference first.
    """
    scored = []
    for order, clip in enumerate(clips):
        j_a, j_b = (clip_j(p[clip.vid], clip.gt_masks, clip.gt_flags, num_classes) for p in preds[:2])
        scored.append((-abs(j_a - j_b) if j_a == j_a and j_b == j_b else float('inf'), order, clip.vid, j_a, j_b))
    return [(vid, j_a, j_b) for _, _, vid, j_a, j_b in sorted(scored)[:count]]


# ----------------------------------------------------------------------------------------------- figure
def compose(clips: Sequence[Clip], rows: Sequence[Tuple[str, Dict[str, np.ndarray]]],
            visualizer: AVSLocalVisualizer, scale: int = 1,
            legend_line: Optional[int] = None) -> Tuple[np.ndarray, List[Tuple[float, str]]]:
    """The figure's image (panels 1:1) and its row labels.

    Each clip is a block drawn by ``visualizer.draw_clip``: rows input frames (no mask), ground truth, then
    ``rows`` (one per method); clips are stacked with :data:`CLIP_GAP` white pixels between them (narrower
    blocks padded white on the right), and the legend of every class drawn is added below.

    Args:
        clips (Sequence[Clip]): The clips, top to bottom.
        rows (Sequence[tuple[str, dict]]): ``(method name, {vid: masks [T, H, W]})`` per method.
        visualizer (AVSLocalVisualizer): Colours, class names and ``alpha``.
        scale (int): Integer enlargement of frames and masks (nearest neighbour).
        legend_line (int, optional): Height of a legend line in pixels. Defaults to ``legend_line_height``
            of the (enlarged) frames.

    Returns:
        tuple: uint8 RGB ``[H_fig, W_fig, 3]`` and ``(y centre in pixels, label)`` for every row.
    """
    blocks, labels, shown, top = [], [], set(), 0
    colors, classes = visualizer.class_colors()
    for clip in clips:
        frames = clip.frames.repeat(scale, 1).repeat(scale, 2)
        masks = [np.zeros(clip.gt_masks.shape, np.int64), clip.gt_masks] + [r[clip.vid] for _, r in rows]
        masks = [m.repeat(scale, 1).repeat(scale, 2) for m in masks]
        for m in masks:
            shown.update(int(c) for c in np.unique(m[clip.frame_flags]) if 0 < c < len(colors))
        block = visualizer.draw_clip(frames, masks, clip.frame_flags, legend=False)
        height = frames.shape[1]
        names = [f'{clip.vid}\ninput', 'GT'] + [name for name, _ in rows]
        labels += [(top + r * (height + visualizer.gap) + height / 2, name) for r, name in enumerate(names)]
        blocks.append(block)
        top += block.shape[0] + CLIP_GAP
    width = max(b.shape[1] for b in blocks)
    parts = []
    for block in blocks:
        padded = np.full((block.shape[0], width, 3), 255, np.uint8)
        padded[:, :block.shape[1]] = block
        parts += [padded, np.full((CLIP_GAP, width, 3), 255, np.uint8)]
    if legend_line is None:
        legend_line = legend_line_height(clips[0].frames.shape[1] * scale, clips[0].frames.shape[2] * scale)
    parts[-1] = draw_legend(width, legend_line, sorted(shown), colors, classes, visualizer=visualizer)
    return np.concatenate(parts, axis=0), labels


def save_figure(image: np.ndarray, labels: Sequence[Tuple[float, str]], out: str, font_px: float) -> List[str]:
    """Write ``image`` with row labels on its left as ``out.png`` and ``out.pdf`` (matplotlib, no pyplot).

    The image is placed 1:1 in pixels right of a margin as wide as the longest label, so the PNG keeps its
    pixels exactly.

    Returns:
        list[str]: The two files written.
    """
    fig = Figure(dpi=DPI)
    canvas = FigureCanvasAgg(fig)
    font_pt = font_px * 72 / DPI
    texts = [fig.text(0, 0, label, fontsize=font_pt, ha='right', va='center') for _, label in labels]
    renderer = canvas.get_renderer()
    pad = int(round(font_px))
    margin = int(np.ceil(max(t.get_window_extent(renderer).width for t in texts))) + 2 * pad
    height, width = image.shape[:2]
    fig_w, fig_h = margin + width, height
    fig.set_size_inches((fig_w + 1e-2) / DPI, (fig_h + 1e-2) / DPI)
    ax = fig.add_axes((margin / fig_w, 0, width / fig_w, 1))
    ax.axis('off')
    ax.imshow(image, extent=(0, width, height, 0), interpolation='none')
    for text, (y, _) in zip(texts, labels):
        text.set_position(((margin - pad) / fig_w, 1 - y / fig_h))
    files = [f'{out}.png', f'{out}.pdf']
    for path in files:
        fig.savefig(path, dpi=DPI, facecolor='white')
    return files


# ----------------------------------------------------------------------------------------------- main
def main(argv: Optional[Sequence[str]] = None) -> List[str]:
    args = parse_args(argv)
    try:
        return run(args)
    except (ValueError, FileNotFoundError, WorkDirError) as e:  # PredMaskError is a ValueError
        raise SystemExit(f'qualitative: {e}') from None


def run(args: argparse.Namespace) -> List[str]:
    methods = [parse_method(spec) for spec in args.method]
    names = [m.name for m in methods]
    if len(set(names)) != len(names):
        raise ValueError(f'--method: the method names must differ, got {names}')
    if args.most_different is not None and len(methods) < 2:
        raise ValueError('--most-different compares two methods: give at least two --method')
    dataset_config = args.dataset_config or next((m.config for m in methods if m.config), None)
    if dataset_config is None:
        raise ValueError('--dataset-config is needed when every method is a folder of saved masks (it gives '
                         'the frames and the ground truth)')
    check_dir_writable(osp.dirname(osp.abspath(args.out)), what='directory of --out')
    register_all_modules()
    dataset = build_split_dataset(load_cfg(dataset_config, args.cfg_options), args.split, args.data_root)
    vids = args.clips if args.clips else [dataset.get_data_info(i)['vid'] for i in range(len(dataset))]
    clips = [load_clip(dataset, i) for i in clip_indices(dataset, vids)]
    meta = dataset.metainfo
    visualizer = AVSLocalVisualizer(name=f'qualitative_{id(args)}', classes=meta['classes'],
                                    palette=meta['palette'], alpha=args.alpha)
    preds = []
    for method in methods:
        if method.config:
            found = model_predictions(method, vids, args.split, args.data_root, args.cfg_options, args.device)
        else:
            found = folder_predictions(method, clips, meta['palette'])
        preds.append({clip.vid: fit_to(found[clip.vid], clip.gt_masks.shape[-2:]) for clip in clips})
    if args.most_different is not None:
        chosen = most_different(clips, preds, len(meta['classes']), args.most_different)
        table = Table(title=f'clips where {names[0]} and {names[1]} differ most (per-clip J, %)')
        for column in ('clip', names[0], names[1]):
            table.add_column(column)
        for vid, j_a, j_b in chosen:
            table.add_row(vid, f'{100 * j_a:.2f}', f'{100 * j_b:.2f}')
        Console(width=100).print(table)
        by_vid = {clip.vid: clip for clip in clips}
        clips = [by_vid[vid] for vid, _, _ in chosen]
    font_px = max(10.0, 0.15 * clips[0].frames.shape[1] * args.scale)  # row labels; legend lines to match
    image, labels = compose(clips, list(zip(names, preds)), visualizer, args.scale,
                            legend_line=int(round(1.5 * font_px)))
    out = osp.splitext(args.out)[0] if args.out.endswith(('.png', '.pdf')) else args.out
    files = save_figure(image, labels, out, font_px=font_px)
    Console(width=100).print(f'wrote {files[0]} and {files[1]}')
    return files


if __name__ == '__main__':
    main()
