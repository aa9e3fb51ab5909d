"""Command line of the checkpoint converter: ``tools/model_converters/convert.py --family F SRC DST``.

``tools/model_converters/{pvt_v2,resnet,vggish,clip}.py`` are one-line wrappers (:func:`family_main`) kept
so that existing commands keep working.
"""
import argparse
import sys
import warnings
from typing import Callable, Dict, List, Optional

from mmengine.logging import MMLogger

from .checkpoint_converter import convert_file

#: ``--family`` choice -> conversion target of :func:`~.checkpoint_converter.convert_file`.
FAMILY_TARGETS: Dict[str, str] = {'pvt_v2': 'pvt_v2', 'resnet': 'resnet', 'vggish': 'vggish', 'clip': 'clip_text'}

DESCRIPTION = ('Convert an official checkpoint (PVT-v2, torchvision ResNet, torchvggish VGGish, OpenAI CLIP / '
               'open_clip) to an mmavs checkpoint. The file is read safely (weights-only; OpenAI TorchScript '
               'archives as data, never with torch.jit.load), its family is verified, the keys are converted, '
               'checked to load strictly into the matching mmavs module, and written as {state_dict, meta} to '
               'DST (unused keys such as classifier heads are listed in meta["dropped"]). See docs/model_zoo.md.')


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``--family {pvt_v2,resnet,vggish,clip} SRC DST [--no-hash-check]``."""
    parser = argparse.ArgumentParser(description=DESCRIPTION)
    parser.add_argument('--family', required=True, choices=tuple(FAMILY_TARGETS),
                        help='checkpoint family (clip: OpenAI ViT-B-16.pt or open_clip, text tower only)')
    parser.add_argument('src', help='official checkpoint')
    parser.add_argument('dst', help='output .pth (e.g. pretrained/<name>.pth)')
    parser.add_argument('--no-hash-check', action='store_true',
                        help='skip the sha256-prefix check of torch-hub style file names (name-<hex>.pth)')
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Parse the arguments, convert SRC and write DST.

    Args:
        argv (list[str], optional): Arguments; ``sys.argv[1:]`` when None.

    Returns:
        int: The process exit code (0; errors raise).
    """
    args = build_parser().parse_args(argv)
    logger = MMLogger.get_instance('mmavs_model_converter')
    result = convert_file(args.src, args.dst, FAMILY_TARGETS[args.family], check_hash=not args.no_hash_check)
    logger.info(f'{args.src} ({result.source_family}) -> {args.dst}: {len(result.state_dict)} tensors, '
                f'{len(result.dropped)} unused keys dropped')
    return 0


def family_main(family: str) -> Callable[[Optional[List[str]]], int]:
    """The ``main`` of a per-family wrapper script: :func:`main` with ``--family family`` given.

    Args:
        family (str): A key of :data:`FAMILY_TARGETS`.

    Returns:
        callable: ``main(argv=None) -> int`` taking ``SRC DST [--no-hash-check]``.
    """
    if family not in FAMILY_TARGETS:
        raise ValueError(f'Unknown converter family {family!r}; choose one of {tuple(FAMILY_TARGETS)}.')

    def family_entry(argv: Optional[List[str]] = None) -> int:
        return main(['--family', family, *(sys.argv[1:] if argv is None else argv)])

    family_entry.__doc__ = f'``convert.py --family {family} SRC DST [--no-hash-check]``; returns the exit code.'
    return family_entry


def run_converter(target: str, description: str = '', argv: Optional[List[str]] = None) -> int:
    """Deprecated (the per-family scripts' former helper): use :func:`main` with ``--family``.

    Args:
        target (str): Conversion target ('pvt_v2', 'resnet', 'vggish', 'clip_text').
        description (str): Ignored.
        argv (list[str], optional): ``SRC DST [--no-hash-check]``; ``sys.argv[1:]`` when None.

    Returns:
        int: The process exit code (0).
    """
    warnings.warn('run_converter is deprecated; use mmavs.models.utils.converter_cli.main with --family',
                  DeprecationWarning, stacklevel=2)
    family = {t: f for f, t in FAMILY_TARGETS.items()}.get(target, target)
    return family_main(family)(argv)
