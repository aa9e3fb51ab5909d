"""Segment the sounding objects of a frame folder + wav and write a video of the overlaid frames with the wav.

Examples::

    python demo/clip_demo.py data/AVSS/v2/abc_1/frames configs/baseline/baseline_pvt_avss.py avss.pth \\
        --out abc_1.mp4                                   # audio: abc_1/audio.wav (the AVSS layout)
    python demo/clip_demo.py s4_data/visual_frames/test/dog_barking/xyz configs/baseline/baseline_pvt_s4.py \\
        s4.pth --audio s4_data/audio_wav/test/dog_barking/xyz.wav --out xyz.mp4 --save-masks xyz_masks/

The frames are taken as sampled the benchmark's way (one per second, in the order of the numbers in their
names), so frame k is shown during second k of the output video (1 frame per second) with its mask.
"""
import argparse

import numpy as np
from PIL import Image

import mmavs  # noqa: F401  (compat shims before mmseg / torch.load are touched)
from mmavs.apis import FrameFolder
from mmavs.apis.demo import add_demo_args, build_demo_inferencer, check_demo_args, write_demo_outputs
from mmavs.audio import read_wav


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Audio-visual segmentation of a frame folder + wav')
    parser.add_argument('frames', help='folder of frames, one per second (jpg / png), ordered by their numbers')
    parser.add_argument('--audio', help='the wav (default: the only .wav in the folder, or audio.wav next to it)')
    add_demo_args(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    check_demo_args(args)
    source = FrameFolder(args.frames, args.audio)
    paths, wav = source.frame_paths(), source.audio_path()  # clear errors before the model is built
    inferencer = build_demo_inferencer(args)
    pred = inferencer(source, batch_size=args.batch_size, return_probs=False)['predictions']
    frames = ((float(k), np.asarray(Image.open(p).convert('RGB'))) for k, p in enumerate(paths))
    write_demo_outputs(args, inferencer, pred, frames, 1.0, len(paths), read_wav(wav))
    return pred


if __name__ == '__main__':
    main()
