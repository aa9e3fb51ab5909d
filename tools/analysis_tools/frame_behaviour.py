"""How a binary AVS model behaves on silent frames and on frames with sounding objects.

The benchmark's J and F mix two different behaviours. This tool separates them on a split (binary tasks: S4,
MS3): for frames whose ground truth is empty (nothing sounds), the share predicted with *any* foreground pixel
and the mean predicted foreground fraction; for frames with sounding objects, mean IoU, precision (how much
of the prediction is sounding) and recall (how much of the sounding area is found), and the share predicted
empty. Frames without ground truth (``gt_flags``) and padded frames are skipped. Every clip is heard with its
own audio, whatever the config's ``audio_shuffle_seed`` says (a config dumped by ``tools/test.py
--shuffle-audio`` has one), unless ``--shuffle-audio SEED`` asks for another clip's audio.

Example::

    python tools/analysis_tools/frame_behaviour.py configs/icl/icl_tiny_synthetic_m3.py \\
        work_dirs/icl_tiny_synthetic_m3/epoch_8.pth --data-root data/synthetic/Multi-sources --split test
"""
import argparse
from typing import Dict, Iterable, Optional, Sequence

import torch
from mmengine.config import Config
from rich.console import Console
from rich.table import Table
from torch import nn

from mmavs.apis.split_data import build_split_dataset, predict_samples
from mmavs.engine import load_model_checkpoint
from mmavs.registry import MODELS
from mmavs.utils import register_all_modules


def frame_statistics(pred_masks: Iterable[torch.Tensor], gt_masks: Iterable[torch.Tensor],
                     ignore_index: int = 255) -> Dict[str, float]:
    """Silent-frame and sounding-frame statistics of binary masks.

    Args:
        pred_masks (Iterable[Tensor]): Per frame ``[H, W]`` (nonzero = foreground).
        gt_masks (Iterable[Tensor]): Per frame ``[H, W]``, 0 / 1 / ``ignore_index``.
        ignore_index (int): Ignored ground-truth value.

    Returns:
        dict[str, float]: ``silent_frames``, ``silent_with_foreground`` (share), ``silent_foreground_area``
        (mean share of pixels), ``sounding_frames``, ``sounding_iou``, ``sounding_precision`` (a frame
        predicted empty counts 0), ``sounding_recall``, ``sounding_predicted_empty`` (share). Means are
        ``nan`` when there is no such frame.
    """
    nan = float('nan')
    silent_any, silent_area, ious, precisions, recalls, empties = [], [], [], [], [], []
    for pred, gt in zip(pred_masks, gt_masks):
        valid = gt != ignore_index
        p = (pred != 0) & valid
        g = (gt == 1) & valid
        if not bool(g.any()):
            silent_any.append(float(p.any()))
            silent_area.append(float(p.sum()) / max(1, int(valid.sum())))
            continue
        inter = float((p & g).sum())
        ious.append(inter / float((p | g).sum()))
        precisions.append(inter / float(p.sum()) if bool(p.any()) else 0.)
        recalls.append(inter / float(g.sum()))
        empties.append(float(not p.any()))

    def mean(values: Sequence[float]) -> float:
        return sum(values) / len(values) if values else nan

    return dict(
        silent_frames=float(len(silent_any)),
        silent_with_foreground=mean(silent_any),
        silent_foreground_area=mean(silent_area),
        sounding_frames=float(len(ious)),
        sounding_iou=mean(ious),
        sounding_precision=mean(precisions),
        sounding_recall=mean(recalls),
        sounding_predicted_empty=mean(empties))


def predict_split(model: nn.Module, cfg: Config, split: str, data_root: Optional[str],
                  batch_size: int = 4, audio_shuffle_seed: Optional[int] = None) -> Dict[str, float]:
    """Run ``model.predict`` over a split of the config's test dataset and return :func:`frame_statistics`.

    ``audio_shuffle_seed`` replaces the dataset config's (None: every clip with its own audio).
    """
    dataset = build_split_dataset(cfg, split, data_root, audio_shuffle_seed)
    preds, gts = [], []
    for sample in predict_samples(model, dataset, batch_size):
        if int(sample.pred_logits.shape[1]) != 1:
            raise ValueError('frame_behaviour: binary models only (S4 / MS3), got '
                             f'{int(sample.pred_logits.shape[1])} classes')
        keep = torch.ones(sample.gt_masks.shape[0], dtype=torch.bool)
        for flag in ('gt_flags', 'frame_flags'):
            if sample.get(flag, None) is not None:
                keep &= sample.get(flag).bool().cpu()
        for t in keep.nonzero(as_tuple=True)[0].tolist():
            preds.append(sample.pred_masks[t].cpu())
            gts.append(sample.gt_masks[t].cpu())
    return frame_statistics(preds, gts)


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--data-root', help='override test_dataloader.dataset.data_root')
    parser.add_argument('--split', default='test')
    parser.add_argument('--shuffle-audio', type=int, metavar='SEED',
                        help="give every clip another clip's audio (default: its own)")
    args = parser.parse_args(argv)
    register_all_modules()
    cfg = Config.fromfile(args.config)
    model = MODELS.build(cfg.model)
    load_model_checkpoint(model, args.checkpoint)
    stats = predict_split(model, cfg, args.split, args.data_root, audio_shuffle_seed=args.shuffle_audio)
    audio = 'own audio' if args.shuffle_audio is None else f'shuffled audio (seed {args.shuffle_audio})'
    table = Table(title=f'{args.split}, {audio}: silent frames vs frames with sounding objects')
    table.add_column('statistic')
    table.add_column('value', justify='right')
    for key, value in stats.items():
        table.add_row(key, f'{value:.0f}' if key.endswith('frames') else f'{value:.3f}')
    Console(width=100).print(table)


if __name__ == '__main__':
    main()
