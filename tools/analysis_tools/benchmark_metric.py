"""Benchmark the vectorised legacy F-measure of ``AVSMetric`` against a direct reference-style loop.

Both compute the AVSBench binary F (S4 / MS3) from the same seeded random logits and masks: per frame,
precision and recall at 255 thresholds, F (beta^2 = 0.3), averaged per test batch, maximum per batch, mean of
batches. The loop applies the thresholds one by one as the reference does; mmavs maps every pixel to the
number of thresholds it reaches and counts all thresholds with one ``bincount``.

Data are generated in chunks (bounded memory); generation is not timed. The loop can be timed on the first
``--loop-frames`` frames only, its time for all frames is then extrapolated (and said so).

Example::

    python tools/analysis_tools/benchmark_metric.py --frames 10000 --size 224 --loop-frames 2000
"""
import argparse
import sys
import time
from typing import List, Tuple

import torch

from mmavs.evaluation.functional import binary_frame_stats, legacy_batch_max_f, legacy_f_curves, legacy_thresholds


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Benchmark the legacy F-measure: loop vs vectorised')
    parser.add_argument('--frames', type=int, default=10000, help='number of frames')
    parser.add_argument('--size', type=int, default=224, help='frame height and width')
    parser.add_argument('--clip-frames', type=int, default=5, help='frames per clip')
    parser.add_argument('--batch-clips', type=int, default=4, help='clips per legacy test batch')
    parser.add_argument('--loop-frames', type=int, default=None,
                        help='time the loop on the first N frames only and extrapolate (default: all)')
    parser.add_argument('--chunk-frames', type=int, default=200, help='frames generated at a time')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--threads', type=int, default=1,
                        help='torch threads for both methods (1 gives the most stable comparison on a shared '
                        'machine)')
    parser.add_argument('--min-speedup', type=float, default=20.0)
    parser.add_argument('--tolerance', type=float, default=1e-6)
    args = parser.parse_args()
    if args.frames <= 0 or args.frames % args.clip_frames:
        parser.error('--frames must be a positive multiple of --clip-frames')
    if args.chunk_frames % args.clip_frames:
        parser.error('--chunk-frames must be a multiple of --clip-frames')
    if args.loop_frames is None:
        args.loop_frames = args.frames
    if not 0 < args.loop_frames <= args.frames:
        parser.error('--loop-frames must be in [1, --frames]')
    return args


def make_chunk(seed: int, index: int, num_frames: int, size: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Seeded random frames: a box of foreground (about 5% of frames empty) and noisy logits.

    Returns:
        tuple[Tensor, Tensor]: logits float32 ``[n, size, size]`` (some saturate the sigmoid), GT uint8
        ``[n, size, size]``.
    """
    gen = torch.Generator().manual_seed(seed * 1_000_003 + index)
    corners = torch.randint(0, size, (num_frames, 2, 2), generator=gen).sort(dim=2).values
    coords = torch.arange(size)
    rows = (coords >= corners[:, 0, :1]) & (coords <= corners[:, 0, 1:])
    cols = (coords >= corners[:, 1, :1]) & (coords <= corners[:, 1, 1:])
    gt = rows.unsqueeze(2) & cols.unsqueeze(1)
    gt &= (torch.rand(num_frames, 1, 1, generator=gen) > 0.05)
    scale = 1 + 15 * torch.rand(num_frames, 1, 1, generator=gen)
    logits = scale * (gt.float() - 0.5) + 2 * torch.randn(num_frames, size, size, generator=gen)
    return logits, gt.to(torch.uint8)


def loop_frame_curves(logits: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """Reference-style F curves: one threshold at a time, float32, as the AVSBench code.

    Args:
        logits (Tensor): float32 ``[n, H, W]``.
        gt (Tensor): ``[n, H, W]`` 0 / 1.

    Returns:
        Tensor: float32 ``[n, 255]`` (rows of frames whose GT is empty are left at 0 and skipped later).
    """
    thresholds = legacy_thresholds()
    probs = torch.sigmoid(logits)
    curves = torch.zeros(logits.shape[0], len(thresholds))
    for n in range(logits.shape[0]):
        target = gt[n].float()
        if torch.mean(target) == 0.0:
            continue
        precision, recall = torch.zeros(len(thresholds)), torch.zeros(len(thresholds))
        for i in range(len(thresholds)):
            positive = (probs[n] >= thresholds[i]).float()
            tp = (positive * target).sum()
            precision[i] = tp / (positive.sum() + 1e-20)
            recall[i] = tp / (target.sum() + 1e-20)
        f = (1 + 0.3) * precision * recall / (0.3 * precision + recall)
        f[f != f] = 0
        curves[n] = f
    return curves


def loop_batch_f(curves: torch.Tensor, has_fg: torch.Tensor, frames_per_batch: int) -> float:
    """Reference-style aggregation: float32 running mean of curves per batch, max, mean over batches."""
    scores: List[float] = []
    for start in range(0, curves.shape[0], frames_per_batch):
        total, count = None, 0
        score = torch.zeros(curves.shape[1])
        for n in range(start, min(start + frames_per_batch, curves.shape[0])):
            if not has_fg[n]:
                continue
            total = curves[n].clone() if total is None else total + curves[n]
            count += 1
            score = total / count
        scores.append(score.max().item())
    return sum(scores) / len(scores)


def vectorised_stats(logits: torch.Tensor, gt: torch.Tensor, clip_frames: int) -> List[dict]:
    """What ``AVSMetric.process`` computes for binary clips, clip by clip."""
    return [
        binary_frame_stats(logits[i:i + clip_frames], gt[i:i + clip_frames])
        for i in range(0, logits.shape[0], clip_frames)
    ]


def vectorised_f(stats: List[dict], frames_per_batch: int) -> Tuple[float, torch.Tensor, torch.Tensor]:
    """Legacy F from per-clip statistics; also returns the per-frame curves and foreground flags."""
    tp = torch.cat([s['tp_count'] for s in stats])
    pred = torch.cat([s['pred_count'] for s in stats])
    gt_area = torch.cat([s['gt_area'] for s in stats])
    curves = legacy_f_curves(tp, pred, gt_area)
    has_fg = gt_area > 0
    batch = torch.arange(len(gt_area)) // frames_per_batch
    return legacy_batch_max_f(curves, has_fg, batch), curves, has_fg


def main() -> int:
    args = parse_args()
    torch.set_num_threads(args.threads)
    frames_per_batch = args.clip_frames * args.batch_clips
    ours_time, loop_time = 0.0, 0.0
    all_stats: List[dict] = []
    loop_curves, loop_fg = [], []
    for index, start in enumerate(range(0, args.frames, args.chunk_frames)):
        num = min(args.chunk_frames, args.frames - start)
        logits, gt = make_chunk(args.seed, index, num, args.size)
        tic = time.perf_counter()
        all_stats += vectorised_stats(logits, gt, args.clip_frames)
        ours_time += time.perf_counter() - tic
        num_loop = min(num, args.loop_frames - start)
        if num_loop > 0:
            tic = time.perf_counter()
            loop_curves.append(loop_frame_curves(logits[:num_loop], gt[:num_loop]))
            loop_time += time.perf_counter() - tic
            loop_fg.append(gt[:num_loop].flatten(1).any(1))
    tic = time.perf_counter()
    ours_f, ours_curves, ours_fg = vectorised_f(all_stats, frames_per_batch)
    ours_time += time.perf_counter() - tic

    loop_curves_t, loop_fg_t = torch.cat(loop_curves), torch.cat(loop_fg)
    tic = time.perf_counter()
    loop_f = loop_batch_f(loop_curves_t, loop_fg_t, frames_per_batch)
    loop_time += time.perf_counter() - tic

    # agreement on the frames the loop ran on
    num_loop = args.loop_frames
    subset_f = legacy_batch_max_f(ours_curves[:num_loop], ours_fg[:num_loop],
                                  torch.arange(num_loop) // frames_per_batch)
    curve_diff = (ours_curves[:num_loop].double() - loop_curves_t.double()).abs().max().item()
    f_diff = abs(subset_f - loop_f)
    fg_same = bool((ours_fg[:num_loop] == loop_fg_t).all())

    ours_ms = 1e3 * ours_time / args.frames
    loop_ms = 1e3 * loop_time / num_loop
    speedup = loop_ms / ours_ms
    print(f'data: {args.frames} frames of {args.size}x{args.size}, {args.clip_frames} frames per clip, '
          f'legacy batch of {args.batch_clips} clips, seed {args.seed}, '
          f'{torch.get_num_threads()} torch thread(s) for both methods')
    print(f'vectorised (mmavs): {ours_time:.2f} s for {args.frames} frames = {ours_ms:.3f} ms/frame '
          f'(per-frame statistics as AVSMetric.process + legacy aggregation)')
    if num_loop < args.frames:
        print(f'reference loop: MEASURED {loop_time:.2f} s on the first {num_loop} frames = {loop_ms:.3f} '
              f'ms/frame; EXTRAPOLATED to {args.frames} frames: {loop_ms * args.frames / 1e3:.1f} s')
    else:
        print(f'reference loop: {loop_time:.2f} s for {num_loop} frames = {loop_ms:.3f} ms/frame')
    print(f'speed-up (per frame): {speedup:.1f}x')
    print(f'legacy F, mmavs, all {args.frames} frames: {ours_f:.8f}')
    print(f'legacy F on the {num_loop} loop frames: loop {loop_f:.10f}, mmavs {subset_f:.10f}, '
          f'abs diff {f_diff:.3e}')
    print(f'max abs diff of per-frame F curves ({num_loop} frames x 255 thresholds): {curve_diff:.3e}; '
          f'same frames skipped: {fg_same}')
    ok = speedup >= args.min_speedup and max(f_diff, curve_diff) <= args.tolerance and fg_same
    print(f"{'PASS' if ok else 'FAIL'}: speed-up >= {args.min_speedup}x and agreement <= {args.tolerance}")
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
