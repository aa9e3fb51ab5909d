"""Convert a folder of videos (with audio; optional masks) into an official AVSBench layout.

    python tools/dataset_converters/videos_to_avsbench.py VIDEO_DIR --out OUT --layout s4 [--masks MASK_DIR]

The logic lives in :mod:`mmavs.datasets.conversion` (frame times, clips, audio, stamp); this is the CLI:
it lists the videos, skips clips already recorded in ``{out}/conversion_report.json`` whose files exist,
runs the videos in a process pool, rewrites the metadata csv from all done clips and prints a summary.
Exit code 1 if any video failed or was refused.
"""
import argparse
import json
import os
import os.path as osp
import sys
from multiprocessing import Pool
from typing import Dict, List

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from mmavs.apis.video_io import VIDEO_EXTENSIONS
from mmavs.datasets.conversion import (
    LAYOUTS,
    StampError,
    VideoJob,
    check_target,
    convert_video,
    write_metadata,
    write_stamp,
)
from mmavs.datasets.synthetic.file_io import write_json

REPORT_NAME = 'conversion_report.json'


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Videos -> AVSBench layout (S4 / MS3 / AVSS).')
    parser.add_argument('videos', help='folder of videos (searched recursively)')
    parser.add_argument('--out', required=True, help='output folder (the data_root of the dataset)')
    parser.add_argument('--layout', choices=sorted(LAYOUTS), default='s4')
    parser.add_argument('--masks', help='folder with one sub-folder of PNG masks per video stem')
    parser.add_argument('--category', help='S4 category (default: parent folder of each video, or "unknown")')
    parser.add_argument('--split', choices=('train', 'val', 'test'), default='test')
    parser.add_argument('--size', type=int, help='square frame size (default 224 for s4/ms3, original for avss)')
    parser.add_argument('--short', choices=('refuse', 'pad'), default='refuse')
    parser.add_argument('--label2idx', help='AVSS class-name json to copy (default: background, sounding object)')
    parser.add_argument('--workers', type=int, default=1)
    parser.add_argument('--overwrite', action='store_true', help='write into a folder holding another dataset')
    return parser.parse_args(argv)


def list_videos(root: str) -> List[str]:
    found = []
    for folder, _, names in os.walk(root):
        found += [osp.join(folder, n) for n in names if osp.splitext(n)[1].lower() in VIDEO_EXTENSIONS]
    return sorted(found)


def load_report(path: str) -> Dict[str, dict]:
    if not osp.isfile(path):
        return {}
    with open(path, encoding='utf-8') as f:
        return json.load(f).get('clips', {})


def main(argv=None) -> int:
    args = parse_args(argv)
    console = Console()
    try:
        check_target(args.out, args.layout, args.overwrite)
    except StampError as err:
        console.print(f'[red]error:[/red] {err}')
        return 2
    write_stamp(args.out, args.layout)
    report_path = osp.join(args.out, REPORT_NAME)
    # --overwrite starts a new report: clips of an older conversion (maybe another layout) are not reused
    previous = {} if args.overwrite else load_report(report_path)
    done = {k: v for k, v in previous.items() if all(osp.isfile(p) for p in v['files'])}
    size = args.size if args.size else (None if args.layout == 'avss' else 224)
    jobs = []
    for path in list_videos(args.videos):
        stem = osp.splitext(osp.basename(path))[0]
        parent = osp.basename(osp.dirname(osp.abspath(path)))
        category = args.category or (parent if osp.abspath(osp.dirname(path)) != osp.abspath(args.videos)
                                     else 'unknown')
        mask_dir = osp.join(args.masks, stem) if args.masks else None
        jobs.append(VideoJob(path, args.out, args.layout, args.split, category, mask_dir, size, args.short,
                             tuple(k for k, v in done.items() if v['video'] == path)))
    problems, counts = [], dict(written=0, skipped=0)
    with Progress(console=console, transient=True) as progress, Pool(max(1, args.workers)) as pool:
        task = progress.add_task('converting', total=len(jobs))
        for records in pool.imap(convert_video, jobs):
            for rec in records:
                if rec.status == 'written':
                    done[rec.clip] = dict(video=rec.video, row=rec.row, files=rec.files)
                if rec.status in counts:
                    counts[rec.status] += 1
                else:
                    problems.append(dict(video=rec.video, clip=rec.clip, status=rec.status, message=rec.message))
            write_json(report_path, dict(clips=done, problems=problems))  # after every video: resumable
            progress.advance(task)
    label2idx = None
    if args.label2idx:
        with open(args.label2idx, encoding='utf-8') as f:
            label2idx = json.load(f)
    if done:
        write_metadata(args.out, args.layout, [v['row'] for v in done.values()], label2idx)
    table = Table(title=f'{args.layout} conversion into {args.out}')
    table.add_column('what')
    table.add_column('count / why')
    table.add_row('videos', str(len(jobs)))
    table.add_row('clips written', str(counts['written']))
    table.add_row('clips skipped (already done)', str(counts['skipped']))
    for p in problems:
        table.add_row(f'{p["status"]}: {osp.basename(p["video"])} {p["clip"]}', p['message'])
    console.print(table)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
