"""Segment the sounding objects of a video and write it back with the masks overlaid and its sound.

Examples::

    python demo/video_demo.py talk.mp4 configs/baseline/baseline_pvt_s4.py s4.pth --out talk_masks.mp4
    python demo/video_demo.py street.mkv configs/icl/icl_pvt_avss.py avss.pth --out street_masks.mp4 \\
        --caption-file street_captions.json --save-masks street_masks/ --device cuda
    python demo/video_demo.py talk.mp4 CONFIG CKPT --out dense.mp4 --fps 5      # 5 masks per second

Frames are sampled as AVSBench samples them (one per second, at k + 15/16 s; --fps for a denser rate with
an audio example centred on each frame), a long video is processed as consecutive clips of the model's
length, and every frame of second k shows the mask of the frame sampled in second k (docs/inference.md).
The output keeps the input's frame rate, duration and audio track (re-encoded: AAC, Opus for webm).
"""
import argparse

import mmavs  # noqa: F401  (compat shims before mmseg / torch.load are touched)
from mmavs.apis import VideoFile, iter_video_frames, probe_video, read_audio_track
from mmavs.apis.demo import add_demo_args, build_demo_inferencer, check_demo_args, write_demo_outputs


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Audio-visual segmentation of a video, written back with overlays')
    parser.add_argument('video', help='input video with an audio track (mp4, mkv, webm, mov)')
    add_demo_args(parser)
    parser.add_argument('--fps', type=float, default=None,
                        help='sample this many frames per second (audio example centred on each) instead of '
                        'the benchmark\'s one per second')
    parser.add_argument('--allow-silent', action='store_true',
                        help='run a video without an audio track on silence instead of stopping')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    check_demo_args(args)
    info = probe_video(args.video)  # a clear error for a missing / empty / unreadable video before the model
    inferencer = build_demo_inferencer(args, fps=args.fps, allow_silent=args.allow_silent)
    pred = inferencer(VideoFile(args.video), batch_size=args.batch_size, return_probs=False)['predictions']
    audio = read_audio_track(args.video, info) if info.has_audio else None
    frames = ((t, frame.to_ndarray(format='rgb24')) for t, frame in iter_video_frames(args.video, info))
    write_demo_outputs(args, inferencer, pred, frames, info.fps, info.num_frames, audio)
    return pred


if __name__ == '__main__':
    main()
