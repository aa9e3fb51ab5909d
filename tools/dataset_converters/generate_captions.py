"""Write the MIT caption file of an AVSBench dataset (format: docs/captions.md).

Examples::

    # import captions written elsewhere (JSON in the caption format, or CSV clip_id,level,index,caption)
    python tools/dataset_converters/generate_captions.py --subset s4 \\
        --data-root data/AVSBench/Single-source --backend import --source my_captions.csv

    # caption every real frame with a local image-captioning model (needs `pip install transformers`)
    python tools/dataset_converters/generate_captions.py --subset avss --data-root data/AVSS \\
        --backend local-model --model-dir checkpoints/vit-gpt2-image-captioning --batch-size 16

The output (default: the subset's caption file in ``--data-root``: ``s4_captions.json``,
``ms3_captions.json`` or ``captions.json``) is rewritten atomically every ``--save-every`` clips; clips
already in it are kept, so an interrupted run is resumed by running the same command again
(``--overwrite`` starts over). Any other backend registered in ``mmavs.registry.CAPTIONERS`` (by a module
of :mod:`mmavs.captioning`) is offered too, with ``--backend-args KEY=VALUE ...`` as its constructor
arguments.
"""
import argparse
import sys
from typing import List, Optional

from mmengine.config import DictAction
from mmengine.logging import MMLogger

from mmavs.captioning import build_captioner, captioner_names, generate_caption_file
from mmavs.datasets.caption_file import CAPTION_FILES


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line arguments (``argv`` defaults to ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(description='Write the MIT caption file of an AVSBench dataset.')
    parser.add_argument('--subset', choices=sorted(CAPTION_FILES), required=True)
    parser.add_argument('--data-root', required=True, help='data root, as in the dataset config')
    parser.add_argument('--out', default=None,
                        help='output JSON (default: the subset\'s caption file in --data-root)')
    parser.add_argument('--backend', choices=captioner_names(), required=True)
    parser.add_argument('--source', default=None, help='import backend: JSON or CSV of captions')
    parser.add_argument('--model-dir', default=None, help='local-model backend: saved model folder')
    parser.add_argument('--device', default='cpu', help='local-model backend: torch device')
    parser.add_argument('--batch-size', type=int, default=8, help='local-model backend: frames/batch')
    parser.add_argument('--max-new-tokens', type=int, default=30, help='local-model backend')
    parser.add_argument('--num-beams', type=int, default=1, help='local-model backend')
    parser.add_argument('--backend-args', nargs='+', action=DictAction, default=None,
                        help='other registered backends: constructor arguments, KEY=VALUE ...')
    parser.add_argument('--splits', nargs='+', default=['train', 'val', 'test'],
                        choices=['train', 'val', 'test'])
    parser.add_argument('--segment-window', type=int, default=None,
                        help='frames per segment caption (default: ceil(T/2) S4/MS3, ceil(T/4) AVSS)')
    parser.add_argument('--max-frames', type=int, default=None, help='AVSS: padded clip length')
    parser.add_argument('--save-every', type=int, default=20, help='save after this many new clips')
    parser.add_argument('--overwrite', action='store_true', help='ignore an existing output file')
    args = parser.parse_args(argv)
    if args.backend == 'import' and not args.source:
        parser.error('--backend import needs --source')
    if args.backend == 'local-model' and not args.model_dir:
        parser.error('--backend local-model needs --model-dir')
    if args.max_frames is not None and args.subset != 'avss':
        parser.error('--max-frames applies to --subset avss only')
    return args


def main(argv: Optional[List[str]] = None) -> None:
    """Build the captioner and write the caption file."""
    args = parse_args(argv)
    name = 'mmavs_generate_captions'
    logger = (MMLogger.get_instance(name) if MMLogger.check_instance_created(name) else
              MMLogger.get_instance(name, log_level='INFO'))
    if args.backend == 'import':
        captioner = build_captioner('import', source=args.source)
    elif args.backend == 'local-model':
        captioner = build_captioner(
            'local-model',
            model_dir=args.model_dir,
            device=args.device,
            batch_size=args.batch_size,
            max_new_tokens=args.max_new_tokens,
            num_beams=args.num_beams)
    else:
        captioner = build_captioner(args.backend, **(args.backend_args or {}))
    dataset_kwargs = {} if args.max_frames is None else dict(max_frames=args.max_frames)
    captions = generate_caption_file(
        args.subset,
        args.data_root,
        captioner,
        out_file=args.out,
        splits=args.splits,
        segment_window=args.segment_window,
        save_every=args.save_every,
        overwrite=args.overwrite,
        dataset_kwargs=dataset_kwargs)
    out = args.out or f'{args.data_root}/{CAPTION_FILES[args.subset]}'
    logger.info(f'{len(captions)} clips captioned in {out}')


if __name__ == '__main__':
    main(sys.argv[1:])
