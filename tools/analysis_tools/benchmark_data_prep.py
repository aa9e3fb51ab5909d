"""Time the data-preparation tools on a generated set: the checker and the video converter, 1 and 2 workers.

Steps (only steps 3 and 4 are timed, each as the command a user runs, process start included):

1. a seeded S4 set of ``--num-clips`` clips in the official layout (``generate_avsbench``, 224x224), unless
   ``--data`` names one already written;
2. one mp4 per clip (H.264 / AAC, ``--fps`` frames per second, each of the clip's five frames held for one
   second, the clip's wav as the audio track), written with :func:`mmavs.apis.video_io.write_video`;
3. ``check_avsbench.py`` on the set, with ``--workers`` 1 and 2;
4. ``videos_to_avsbench.py --layout s4`` of the mp4 folder into a fresh folder, with ``--workers`` 1 and 2, and
   ``check_avsbench.py --without-gt`` of each result (unlabeled: it must report no error).

Example::

    python tools/analysis_tools/benchmark_data_prep.py --num-clips 1000 --work-dir work_dirs/bench_data_prep
"""
import argparse
import glob
import os
import os.path as osp
import shutil
import subprocess
import sys
import time
from typing import List

import numpy as np
from PIL import Image
from rich.console import Console
from rich.progress import track
from rich.table import Table

from mmavs.apis.video_io import write_video
from mmavs.audio import read_wav
from mmavs.datasets.synthetic import generate_avsbench

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CHECK = osp.join(REPO, 'tools', 'dataset_converters', 'check_avsbench.py')
CONVERT = osp.join(REPO, 'tools', 'dataset_converters', 'videos_to_avsbench.py')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Time check_avsbench.py and videos_to_avsbench.py')
    parser.add_argument('--num-clips', type=int, default=1000, help='clips of the generated S4 set')
    parser.add_argument('--work-dir', default='work_dirs/bench_data_prep')
    parser.add_argument('--data', help='an S4 data_root already written (skips step 1)')
    parser.add_argument('--fps', type=int, default=8, help='frame rate of the mp4 files')
    parser.add_argument('--workers', type=int, nargs='+', default=[1, 2])
    return parser.parse_args()


def write_videos(data_root: str, out: str, fps: int) -> List[str]:
    """One mp4 per S4 clip (the five frames, one second each, and the clip's wav)."""
    os.makedirs(out, exist_ok=True)
    clips = sorted(glob.glob(osp.join(data_root, 's4_data', 'visual_frames', '*', '*', '*')))
    paths = []
    for clip in track(clips, description='writing mp4 files'):
        vid = osp.basename(clip)
        split, category = clip.split(os.sep)[-3:-1]
        frames = [np.asarray(Image.open(osp.join(clip, f'{vid}_{i}.png')).convert('RGB')) for i in range(1, 6)]
        wav = osp.join(data_root, 's4_data', 'audio_wav', split, category, f'{vid}.wav')
        timed = [(k / fps, frames[k // fps]) for k in range(5 * fps)]
        path = osp.join(out, category, f'{vid}.mp4')
        os.makedirs(osp.dirname(path), exist_ok=True)
        write_video(path, timed, fps, audio=read_wav(wav))
        paths.append(path)
    return paths


def timed(command: List[str]) -> float:
    """Wall-clock seconds of a command; raises if it fails."""
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f'{" ".join(command)} exited with {done.returncode}:\n'
                           f'{done.stdout[-2000:]}{done.stderr[-2000:]}')
    return seconds


def main() -> int:
    args = parse_args()
    console = Console()
    os.makedirs(args.work_dir, exist_ok=True)
    data_root = args.data
    if data_root is None:
        base = osp.join(args.work_dir, 's4')
        num_test = args.num_clips // 10
        generate_avsbench(base, subset='s4', num_train=args.num_clips - 2 * num_test, num_val=num_test,
                          num_test=num_test, size=224, seed=0, overwrite=True)
        data_root = osp.join(base, 'Single-source')
    videos = osp.join(args.work_dir, 'videos')
    shutil.rmtree(videos, ignore_errors=True)
    num_videos = len(write_videos(data_root, videos, args.fps))
    table = Table(title=f'{num_videos} clips (S4, 224x224; mp4 {args.fps} fps H.264 / AAC)')
    for column in ('step', 'workers', 'seconds', 'clips / s'):
        table.add_column(column, justify='right' if column != 'step' else 'left')
    python = sys.executable
    for workers in args.workers:
        seconds = timed([python, CHECK, data_root, '--workers', str(workers)])
        table.add_row('check_avsbench.py', str(workers), f'{seconds:.1f}', f'{num_videos / seconds:.1f}')
    for workers in args.workers:
        out = osp.join(args.work_dir, f'converted_w{workers}')
        shutil.rmtree(out, ignore_errors=True)
        seconds = timed([python, CONVERT, videos, '--out', out, '--layout', 's4', '--workers', str(workers)])
        table.add_row('videos_to_avsbench.py', str(workers), f'{seconds:.1f}', f'{num_videos / seconds:.1f}')
        timed([python, CHECK, out, '--without-gt'])  # the converted (unlabeled) copy must pass the checker
    console.print(table)
    return 0


if __name__ == '__main__':
    sys.exit(main())
