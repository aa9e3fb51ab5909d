"""The command line shared by ``demo/video_demo.py`` and ``demo/clip_demo.py``: arguments, checks, outputs."""
import argparse
import logging
import os.path as osp
import sys
import time
from typing import Iterable, Optional, Tuple

import numpy as np
from mmengine.config import DictAction
from mmengine.logging import print_log
from rich.progress import Progress

from .inference import load_inference_config, model_needs_captions
from .inferencer import AVSInferencer, AVSPrediction
from .overlay_video import overlay_frames, save_prediction_masks
from .video_io import VIDEO_EXTENSIONS, write_video


def add_demo_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``CONFIG CHECKPOINT --out`` and the options both demos share."""
    parser.add_argument('config', help='config file of the model')
    parser.add_argument('checkpoint', help='checkpoint file (loaded strictly)')
    parser.add_argument('--out', required=True, help=f'output video ({", ".join(VIDEO_EXTENSIONS)})')
    parser.add_argument('--save-masks', metavar='DIR', help='also write one PNG mask per sampled frame into DIR')
    parser.add_argument('--device', default='cpu', help='torch device, e.g. cpu, cuda, cuda:1 (default: cpu)')
    parser.add_argument('--caption-file', help='MIT captions (docs/captions.md), for ICF models with text')
    parser.add_argument('--captioner', help='MIT caption backend of mmavs.registry.CAPTIONERS (e.g. local-model)')
    parser.add_argument('--captioner-args', nargs='+', action=DictAction, default=None,
                        help='constructor arguments of the captioner, key=value (e.g. model_dir=ckpt/blip)')
    parser.add_argument('--alpha', type=float, default=0.5, help='weight of the mask colours (default: 0.5)')
    parser.add_argument('--no-legend', action='store_true', help='no legend strip below the frames')
    parser.add_argument('--batch-size', type=int, default=1, help='clips per forward pass (default: 1)')
    parser.add_argument('--crf', type=int, default=18, help='libx264 quality, 0 (lossless) .. 51 (default: 18)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='config overrides, key=value')
    return parser


def check_demo_args(args: argparse.Namespace) -> None:
    """Stop with a message before anything is built: output type, caption source of MIT models, device."""
    if osp.splitext(args.out)[1].lower() not in VIDEO_EXTENSIONS:
        sys.exit(f'--out "{args.out}": the output video must end with one of {", ".join(VIDEO_EXTENSIONS)}')
    if args.caption_file and args.captioner:
        sys.exit('give --caption-file or --captioner, not both')
    cfg = load_inference_config(args.config, args.cfg_options)
    if model_needs_captions(cfg) and not (args.caption_file or args.captioner):
        sys.exit(f'the model of {args.config} uses MIT text (model.text_encoder is set): give its captions with '
                 '--caption-file FILE (the format of docs/captions.md, keyed by clip id: the input\'s name, or '
                 '<name>_<c> for clip c of a longer input) or a caption backend with --captioner NAME')
    if str(args.device).startswith('cuda'):
        import torch
        if not torch.cuda.is_available():
            sys.exit(f'--device {args.device}: CUDA is not available on this machine (use --device cpu)')


def build_demo_inferencer(args: argparse.Namespace, **kwargs) -> AVSInferencer:
    """The inferencer of the demo's arguments (``kwargs``: ``fps``, ``allow_silent``)."""
    captioner = None
    if args.captioner:
        captioner = dict(type=args.captioner, **(args.captioner_args or {}))
    return AVSInferencer(args.config, args.checkpoint, device=args.device, caption_file=args.caption_file,
                         captioner=captioner, cfg_options=args.cfg_options, show_progress=True, **kwargs)


def write_demo_outputs(args: argparse.Namespace, inferencer: AVSInferencer, pred: AVSPrediction,
                       frames: Iterable[Tuple[float, np.ndarray]], fps: float, num_frames: int,
                       audio: Optional[Tuple[np.ndarray, int]]) -> None:
    """Write the overlaid video (with ``audio``) and, with ``--save-masks``, the mask PNGs.

    Args:
        args (argparse.Namespace): The demo's arguments.
        inferencer (AVSInferencer): Its inferencer (subset of the masks).
        pred (AVSPrediction): The predictions.
        frames (Iterable[tuple[float, np.ndarray]]): Every frame of the output with its time.
        fps (float): Frame rate of the output.
        num_frames (int): Number of frames (progress bar).
        audio (tuple[np.ndarray, int], optional): ``[N, C]`` samples and rate to mux, or None.
    """
    start = time.time()
    options = {'crf': str(args.crf)} if args.crf is not None else None
    with Progress() as progress:
        task = progress.add_task('Writing the overlaid video', total=num_frames)

        def counted():
            for item in overlay_frames(pred, frames, alpha=args.alpha, legend=not args.no_legend):
                progress.advance(task)
                yield item

        written = write_video(args.out, counted(), fps, audio=audio,
                              video_options=options if osp.splitext(args.out)[1].lower() != '.webm' else None)
    print_log(f'wrote {args.out}: {written} frames, {pred.num_frames} masks ({pred.sampling.describe()}), '
              f'{"with" if audio is not None else "without"} audio, in {time.time() - start:.1f} s',
              logger='current', level=logging.INFO)
    if args.save_masks:
        paths = save_prediction_masks(pred, args.save_masks, inferencer.spec.subset)
        print_log(f'wrote {len(paths)} masks and {pred.name}_masks.json into {args.save_masks}', logger='current')
