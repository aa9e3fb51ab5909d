"""Generate small seeded AVSBench-style datasets in the official layouts.

Examples::

    python tools/dataset_converters/generate_synthetic_avs.py --subset s4 --out data/synthetic \\
        --num-train 80 --num-val 10 --num-test 10 --size 224 --seed 0
    python tools/dataset_converters/generate_synthetic_avs.py --subset all --out data/synthetic \\
        --overwrite

Output under ``--out``: S4 in ``Single-source/``, MS3 in ``Multi-sources/``, AVSS in ``AVSS/`` (holding
``metadata.csv``, ``label2idx.json``, ``v1s/``, ``v1m/``, ``v2/``): the directories dataset configs
point ``data_root`` at.
"""
import argparse
import os.path as osp

from mmengine.logging import MMLogger

from mmavs.datasets.synthetic import SUBSETS, generate_avsbench
from mmavs.datasets.synthetic.caption_text import CAPTION_MODES
from mmavs.datasets.synthetic.file_io import write_json

#: Sub-directory of ``--out`` that receives the AVSS layout.
AVSS_DIRNAME = 'AVSS'


def parse_args() -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description='Write synthetic AVSBench data in the official layouts.')
    parser.add_argument('--subset', choices=SUBSETS + ('all', ), default='all', help='subset(s) to write')
    parser.add_argument('--out', default='data/synthetic', help='output directory')
    parser.add_argument('--num-train', type=int, default=80, help='train clips per subset')
    parser.add_argument('--num-val', type=int, default=10, help='val clips per subset')
    parser.add_argument('--num-test', type=int, default=10, help='test clips per subset')
    parser.add_argument('--size', type=int, default=224, help='frame height (and S4/MS3 width) in pixels')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument(
        '--categories',
        nargs='+',
        default=None,
        help='use only these categories (S4 names for s4/ms3, AVSS class names for avss)')
    parser.add_argument(
        '--silent-prob', type=float, default=0.15, help='probability that a frame has no sounding object')
    parser.add_argument(
        '--caption-mode',
        choices=CAPTION_MODES,
        default='visual',
        help='visual-only MIT captions (default, like an image captioner) or captions that also say what is '
        'heard (a diagnostic of the text path)')
    parser.add_argument(
        '--overwrite', action='store_true', help='replace existing output of the subset(s)')
    parser.add_argument(
        '--manifest-dir',
        default=None,
        help='also write {subset}_manifest.json (objects, sounding flags, paths) here')
    return parser.parse_args()


def main() -> None:
    """Generate the requested subsets."""
    args = parse_args()
    logger = MMLogger.get_instance('mmavs', log_level='INFO')
    subsets = SUBSETS if args.subset == 'all' else (args.subset, )
    for subset in subsets:
        root = osp.join(args.out, AVSS_DIRNAME) if subset == 'avss' else args.out
        logger.info(f'Writing synthetic {subset.upper()} data to {root} ...')
        manifest = generate_avsbench(
            root,
            subset=subset,
            num_train=args.num_train,
            num_val=args.num_val,
            num_test=args.num_test,
            size=args.size,
            seed=args.seed,
            categories=args.categories,
            silent_prob=args.silent_prob,
            caption_mode=args.caption_mode,
            overwrite=args.overwrite,
            progress=True)
        if args.manifest_dir is not None:
            path = osp.join(args.manifest_dir, f'{subset}_manifest.json')
            write_json(path, manifest)
            logger.info(f'Manifest written to {path}')


if __name__ == '__main__':
    main()
