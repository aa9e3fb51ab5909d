"""Seconds per clip of AVSInferencer on a generated video (decoding, pipeline, model and masks included).

Examples::

    python tools/analysis_tools/benchmark_inference.py configs/baseline/baseline_tiny_synthetic_s4.py
    python tools/analysis_tools/benchmark_inference.py configs/icl/icl_pvt_avss.py --clips 2 --size 640x360
    python tools/analysis_tools/benchmark_inference.py CONFIG CHECKPOINT --device cuda --threads 1

Without a checkpoint the model keeps random weights: ``init_model`` drops every ``init_cfg`` of the model
config, so the paper-scale configs run without their pretrained files (``pretrained/*.pth``). The input is
an mp4 (H.264 + AAC) of moving squares over a gradient with a noise track, ``warm-up + clips`` clips of the
model's length (5 s for S4 / MS3, 10 s for AVSS); models with MIT text get a caption file for its clips. The
figures depend on the machine and on what else runs on it: say which when you quote them.
"""
import argparse
import json
import os.path as osp
import tempfile
import time
from typing import Dict, Iterator, List, Tuple

import numpy as np
import torch
from mmengine.config import DictAction

import mmavs  # noqa: F401  (compat shims before mmseg / torch.load are touched)
from mmavs.apis import AVSInferencer, write_video
from mmavs.apis.inference import (
    clip_spec,
    lazy_dataset,
    load_inference_config,
    model_needs_captions,
    segment_window_of,
    test_dataset_cfg,
)
from mmavs.datasets.caption_windows import segment_windows


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Time AVSInferencer per clip on a generated video')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', nargs='?', default=None, help='checkpoint (default: random weights)')
    parser.add_argument('--device', default='cpu', help='torch device (default: cpu)')
    parser.add_argument('--clips', type=int, default=3, help='timed clips (default: 3)')
    parser.add_argument('--warmup', type=int, default=1, help='untimed clips run first (default: 1)')
    parser.add_argument('--size', default='640x360', help='frame size WxH of the video (default: 640x360)')
    parser.add_argument('--video-fps', type=int, default=25, help='frame rate of the video (default: 25)')
    parser.add_argument('--fps', type=float, default=None, help='denser sampling rate (default: benchmark)')
    parser.add_argument('--batch-size', type=int, default=1, help='clips per forward pass (default: 1)')
    parser.add_argument('--threads', type=int, default=None, help='torch threads (default: torch\'s)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='config overrides, key=value')
    return parser.parse_args(argv)


def moving_squares(seconds: float, fps: int, width: int, height: int) -> Iterator[Tuple[float, np.ndarray]]:
    """``(time, frame)`` of a gradient with two squares crossing it."""
    ys, xs = np.mgrid[0:height, 0:width]
    base = np.stack([xs * 255 // max(1, width - 1), ys * 255 // max(1, height - 1),
                     np.full_like(xs, 96)], axis=-1).astype(np.uint8)
    side = max(8, min(width, height) // 4)
    for i in range(int(round(seconds * fps))):
        frame = base.copy()
        x = int((i * 7) % max(1, width - side))
        y = int((i * 3) % max(1, height - side))
        frame[y:y + side, x:x + side] = (230, 40, 40)
        frame[height - side - y // 2:height - y // 2, width - side - x // 2:width - x // 2] = (40, 40, 230)
        yield i / fps, frame


def write_captions(path: str, videos: Dict[str, int], num_frames: int, window: int) -> str:
    """Captions for the clips (``{name}_{c}``, or ``name`` alone) of the generated videos ``{name: clips}``."""
    entry = dict(video='Two squares move over a gradient.',
                 segments=[f'Frames {a + 1}-{b}: a red and a blue square move.'
                           for a, b in segment_windows(num_frames, window)],
                 frames=[f'Frame {t + 1}: a red square and a blue square.' for t in range(num_frames)])
    entries = {}
    for name, clips in videos.items():
        entries.update({clip_id: entry for clip_id in ([name] if clips == 1 else
                                                       [f'{name}_{c}' for c in range(clips)])})
    with open(path, 'w') as f:
        json.dump(entries, f)
    return path


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    width, height = (int(v) for v in args.size.lower().split('x'))
    videos = {name: clips for name, clips in (('warmup', args.warmup), ('timed', args.clips)) if clips > 0}
    if 'timed' not in videos:
        raise SystemExit('--clips must be >= 1')
    with tempfile.TemporaryDirectory(prefix='mmavs_bench_') as folder:
        cfg = load_inference_config(args.config, args.cfg_options)
        spec = clip_spec(cfg, lazy_dataset(cfg))
        captions = None
        if model_needs_captions(cfg):  # MIT: captions of every clip of the generated videos
            window = segment_window_of(test_dataset_cfg(cfg), spec)
            captions = write_captions(osp.join(folder, 'captions.json'), videos, spec.num_frames, window)
        start = time.time()
        inferencer = AVSInferencer(cfg, args.checkpoint, device=args.device, fps=args.fps, caption_file=captions,
                                   show_progress=False)
        build_seconds = time.time() - start
        model = inferencer.model
        clip_seconds = spec.num_frames / inferencer.sampling.fps
        model_seconds: List[float] = []
        forward = inferencer.forward

        def timed_forward(data, **kwargs):
            sync = torch.cuda.synchronize if str(args.device).startswith('cuda') else (lambda: None)
            sync()
            begin = time.time()
            out = forward(data, **kwargs)
            sync()
            model_seconds.append(time.time() - begin)
            return out

        inferencer.forward = timed_forward
        rng = np.random.default_rng(0)
        timings = {}
        for name, clips in videos.items():
            seconds = clips * clip_seconds
            video = osp.join(folder, f'{name}.mp4')
            noise = (rng.standard_normal(int(seconds * 16000)) * 0.05).astype(np.float32)
            write_video(video, moving_squares(seconds, args.video_fps, width, height), args.video_fps,
                        audio=(noise, 16000))
            model_seconds.clear()
            begin = time.time()
            pred = inferencer(video, batch_size=args.batch_size, return_probs=False)['predictions']
            timings[name] = dict(total=time.time() - begin, model=sum(model_seconds), clips=len(pred.clip_ids))
    params = sum(p.numel() for p in model.parameters()) / 1e6
    timed = timings['timed']
    per_clip, per_clip_model = timed['total'] / timed['clips'], timed['model'] / timed['clips']
    print(f'config: {args.config} ({type(model).__name__}, {params:.1f} M parameters, '
          f'{"checkpoint " + args.checkpoint if args.checkpoint else "random weights"}; built in '
          f'{build_seconds:.1f} s)')
    print(f'device: {args.device}, torch threads: {torch.get_num_threads()}, batch size {args.batch_size}')
    print(f'input: {width}x{height} mp4 at {args.video_fps} fps, {inferencer.sampling.describe()}, clips of '
          f'{spec.num_frames} frames ({clip_seconds:g} s); {timed["clips"]} clip(s) timed after {args.warmup} '
          'warm-up clip(s)')
    print(f'seconds per clip: {per_clip:.2f} (model {per_clip_model:.2f}, decoding / pipeline / masks '
          f'{per_clip - per_clip_model:.2f}); {per_clip / spec.num_frames:.3f} s per frame')
    return dict(per_clip=per_clip, per_clip_model=per_clip_model, build=build_seconds, params_m=params)


if __name__ == '__main__':
    main()
