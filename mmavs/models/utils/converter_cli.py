"""Command line shared by the scripts in ``tools/model_converters/`` (one script per checkpoint family)."""
import argparse
from typing import List, Optional

from mmengine.logging import MMLogger

from .checkpoint_converter import convert_file


def run_converter(target: str, description: str, argv: Optional[List[str]] = None) -> int:
    """Parse ``SRC DST [--no-hash-check]``, convert SRC for ``target`` and write DST.

    Args:
        target (str): Conversion target of :func:`convert_file` ('pvt_v2', 'resnet', 'vggish', 'clip_text').
        description (str): Help text (the script's first docstring line).
        argv (list[str], optional): Arguments; ``sys.argv[1:]`` when None.

    Returns:
        int: The process exit code (0).
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('src', help='official checkpoint')
    parser.add_argument('dst', help='output .pth (e.g. pretrained/<name>.pth)')
    parser.add_argument('--no-hash-check', action='store_true',
                        help='skip the sha256-prefix check of torch-hub style file names (name-<hex>.pth)')
    args = parser.parse_args(argv)
    logger = MMLogger.get_instance('mmavs_model_converter')
    result = convert_file(args.src, args.dst, target, check_hash=not args.no_hash_check)
    logger.info(f'{args.src} ({result.source_family}) -> {args.dst}: {len(result.state_dict)} tensors, '
                f'{len(result.dropped)} unused keys dropped')
    return 0
