"""Generate small seeded AVSBench-style datasets in the official layouts.

Examples::

    python tools/dataset_converters/generate_synthetic_avs.py --subset s4 --out data/synthetic \\
        --num-train 80 --num-val 10 --num-test 10 --size 224 --seed 0
    python tools/dataset_converters/generate_synthetic_avs.py --subset all --out data/synthetic \\
        --overwrite
    python tools/dataset_converters/generate_synthetic_avs.py --subset ms3 --visual-shortcut 0.9 \\
        --out data/visual_bias --num-train 320 --num-val 24 --num-test 40 --size 64   # the visual-bias probe

Output under ``--out``: S4 in ``Single-source/``, MS3 in ``Multi-sources/``, AVSS in ``AVSS/`` (holding
``metadata.csv``, ``label2idx.json``, ``v1s/``, ``v1m/``, ``v2/``): the directories dataset configs
point ``data_root`` at. With ``--visual-shortcut P`` (MS3 only) the visual-bias probe of
:mod:`mmavs.datasets.synthetic.visual_bias` is written instead: ``--out/Multi-sources`` (train / val with the
shortcut "the larger object sounds" in a share P of the frames, a shortcut-following test split) and
``--out/shortcut_contradict/Multi-sources`` (the same test clips with the smaller object sounding).
"""
import argparse
import os
import os.path as osp

from mmengine.logging import MMLogger

from mmavs.datasets.synthetic import SUBSETS, generate_avsbench
from mmavs.datasets.synthetic.caption_text import CAPTION_MODES
from mmavs.datasets.synthetic.file_io import write_json
from mmavs.datasets.synthetic.visual_bias import generate_visual_bias_probe, visual_bias_roots

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
    parser.add_argument('--workers', type=int, default=os.cpu_count() or 1,
                        help='processes writing clips (default: the CPU count; the output does not depend on it)')
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
    parser.add_argument(
        '--visual-shortcut',
        type=float,
        metavar='P',
        help='write the visual-bias probe (MS3 only): in train / val the sounding object is the larger of two '
        'in a share P (0-1) of the frames; two test splits follow / contradict the shortcut')
    args = parser.parse_args()
    if args.visual_shortcut is not None:
        if args.subset != 'ms3':
            parser.error(f'--visual-shortcut writes an MS3-layout probe: give --subset ms3 (got {args.subset})')
        if not 0.0 <= args.visual_shortcut <= 1.0:
            parser.error(f'--visual-shortcut P must be in [0, 1], got {args.visual_shortcut}')
    if args.workers < 1:
        parser.error(f'--workers must be >= 1, got {args.workers}')
    return args


def write_probe(args: argparse.Namespace) -> None:
    """Write the visual-bias probe and its manifests."""
    manifests = generate_visual_bias_probe(
        args.out, num_train=args.num_train, num_val=args.num_val, num_test=args.num_test, size=args.size,
        seed=args.seed, shortcut_prob=args.visual_shortcut, categories=args.categories,
        silent_prob=args.silent_prob, caption_mode=args.caption_mode, overwrite=args.overwrite, progress=True,
        workers=args.workers)
    logger = MMLogger.get_current_instance()
    for name, root in visual_bias_roots(args.out).items():
        logger.info(f'visual-bias probe, {name}: data_root={root}')
        if args.manifest_dir is not None:
            path = osp.join(args.manifest_dir, f'ms3_visual_bias_{name}_manifest.json')
            write_json(path, manifests[name])
            logger.info(f'Manifest written to {path}')


def main() -> None:
    """Generate the requested subsets."""
    args = parse_args()
    logger = MMLogger.get_instance('mmavs', log_level='INFO')
    if args.visual_shortcut is not None:
        write_probe(args)
        return
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
            progress=True,
            workers=args.workers)
        if args.manifest_dir is not None:
            path = osp.join(args.manifest_dir, f'{subset}_manifest.json')
            write_json(path, manifest)
            logger.info(f'Manifest written to {path}')


if __name__ == '__main__':
    main()
