"""Arguments and config loading shared by the tools (``tools/train.py``, ``tools/test.py``, the analysis tools)."""
import argparse
import os
import os.path as osp
from typing import NamedTuple, Optional

from mmengine.config import Config, DictAction


def add_runner_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``--work-dir``, ``--cfg-options``, ``--launcher`` and ``--local_rank`` to ``parser``."""
    parser.add_argument('--work-dir', help='the dir to save logs, checkpoints and results')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value (e.g. train_cfg.max_epochs=10)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser


def parse_runner_args(parser: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    """Parse ``argv`` and export ``LOCAL_RANK`` for launchers that pass ``--local_rank`` only."""
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def load_config(config: str, cfg_options: Optional[dict] = None,
                work_dir: Optional[str] = None) -> Config:
    """Read ``config``, apply ``--cfg-options`` and choose the work dir.

    The work dir is ``work_dir`` if given, else the config's own ``work_dir``, else
    ``./work_dirs/<config name>``.
    """
    cfg = Config.fromfile(config)
    if cfg_options is not None:
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config))[0])
    return cfg


class ModelSpec(NamedTuple):
    """A trained model named on a tool's command line: its display name, config and checkpoint."""

    name: str
    config: str
    checkpoint: str


def parse_model_spec(spec: str, owner: str = 'model') -> ModelSpec:
    """Parse and check one ``[NAME=]CONFIG.py:CHECKPOINT`` (the analysis tools' way of naming a model).

    ``NAME`` defaults to the config's file name without ``.py``. A checkpoint given as a URL (``://``) is not
    checked here (MMEngine's loaders fetch it).

    Args:
        spec (str): The command-line value.
        owner (str): Starts the error messages (e.g. ``'--method'``).

    Raises:
        ValueError: Not of that form, or an empty ``NAME`` before ``=``.
        FileNotFoundError: The config or the checkpoint does not exist (named in the message).
    """
    head, sep, checkpoint = spec.partition('.py:')
    name, eq, config = head.partition('=')
    if not eq:
        name, config = '', head
    if not sep or not config or not checkpoint or (eq and not name.strip()):
        raise ValueError(f'{owner} {spec!r}: expected [NAME=]CONFIG.py:CHECKPOINT (e.g. '
                         'ICF=configs/icl/icl_pvt_s4.py:work_dirs/icf/epoch_30.pth)')
    config += '.py'
    name = name.strip() if eq else osp.splitext(osp.basename(config))[0]
    for what, path in (('config', config), ('checkpoint', checkpoint)):
        if not (what == 'checkpoint' and '://' in path) and not osp.isfile(path):
            raise FileNotFoundError(f'{owner} {name}: {what} file "{path}" does not exist')
    return ModelSpec(name, config, checkpoint)
