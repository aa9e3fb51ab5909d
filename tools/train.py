"""Train an AVS model with the MMEngine Runner.

Examples::

    python tools/train.py configs/icl/icl_pvt_avss.py
    python tools/train.py CONFIG --work-dir work_dirs/x --cfg-options train_cfg.max_iters=100
    python tools/train.py CONFIG --resume                 # resume from the latest checkpoint
    python tools/train.py CONFIG --resume work_dirs/x/epoch_4.pth
    tools/dist_train.sh CONFIG 2                           # torchrun; gloo on CPU, nccl on GPU
"""
import argparse
import os.path as osp
import sys
from typing import Optional

from mmengine.config import Config
from mmengine.runner import Runner

import mmavs  # noqa: F401  (compat shims before mmseg / torch.load are touched)
from mmavs.engine import amp_optim_wrapper, find_resume_checkpoint
from mmavs.utils import setup_launcher, teardown_launcher
from mmavs.utils.tool_args import add_runner_args, load_config, parse_runner_args
from mmavs.utils.work_dir import WorkDirError, check_checkpoint_space, check_dir_writable, estimate_checkpoint_bytes


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train an AVS segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or from the latest checkpoint in the work dir when no '
        'path is given')
    parser.add_argument(
        '--amp', action='store_true', help='enable automatic mixed precision (CUDA/NPU devices)')
    parser.add_argument(
        '--amp-dtype', choices=('fp16', 'bf16'),
        help='with --amp: float16 (with a dynamic loss scale) or bfloat16 (Ampere and newer GPUs); default: the '
        'config\'s AmpOptimWrapper dtype, else float16')
    add_runner_args(parser)
    return parse_runner_args(parser, argv)


def _enable_amp(cfg: Config, dtype: Optional[str] = None) -> None:
    """Switch the optim wrapper to AMP in ``dtype`` ('fp16' / 'bf16'; None: the config's), or stop with a clear
    message when the device cannot do it."""
    import torch
    from mmengine.device import is_cuda_available, is_mlu_available, is_npu_available
    if not (is_cuda_available() or is_npu_available() or is_mlu_available()):
        sys.exit(
            '--amp needs a CUDA, NPU or MLU device (MMEngine AmpOptimWrapper); none is available on '
            f'this machine (torch {torch.__version__}). Run without --amp to train in float32.')
    try:
        cfg.optim_wrapper = amp_optim_wrapper(cfg.optim_wrapper, dtype)
    except ValueError as exc:
        sys.exit(f'--amp: {exc}.')


def resolve_resume(cfg: Config, resume: Optional[str]) -> Optional[str]:
    """Decide what the run resumes from; set ``cfg.resume`` / ``cfg.load_from`` accordingly.

    ``resume`` is the ``--resume`` value: None (not given), ``'auto'`` (latest checkpoint of the work
    dir) or a checkpoint path. A config with ``resume = True`` counts as ``'auto'`` when its
    ``load_from`` is None, else as that path. The latest checkpoint is found with
    :func:`mmavs.engine.find_resume_checkpoint`, which also works after the work dir was moved.

    Returns:
        str | None: A warning to log when there is nothing to resume (the run then starts from the
        beginning, with the config's ``load_from`` if it has one).

    Raises:
        SystemExit: When the checkpoint to resume from does not exist.
    """
    if resume is None:
        if not cfg.get('resume', False):
            return None
        resume = cfg.get('load_from') or 'auto'
    if resume != 'auto':
        if '://' not in resume and not osp.isfile(resume):
            sys.exit(f'Cannot resume: the checkpoint {resume} does not exist.')
        cfg.resume = True
        cfg.load_from = resume
        return None
    work_dir = osp.abspath(cfg.work_dir)
    found = find_resume_checkpoint(work_dir)
    if found is not None:
        cfg.resume = True
        cfg.load_from = found
        return None
    cfg.resume = False
    start = f'from load_from={cfg.load_from}' if cfg.get('load_from') else 'from scratch'
    return (f'--resume: nothing to resume in the work dir {work_dir} (no last_checkpoint naming an '
            f'existing checkpoint); training starts {start}.')


def build_cfg(args: argparse.Namespace) -> Config:
    cfg = load_config(args.config, args.cfg_options, args.work_dir)
    if args.amp_dtype is not None and not args.amp:
        sys.exit('--amp-dtype chooses the precision of --amp: give --amp too')
    if args.amp:
        _enable_amp(cfg, args.amp_dtype)
    setup_launcher(cfg, args.launcher)
    return cfg


def _optimizer_name(cfg: Config) -> Optional[str]:
    optimizer = cfg.get('optim_wrapper', {}).get('optimizer', {}).get('type')
    return optimizer if isinstance(optimizer, str) or optimizer is None else optimizer.__name__


def main(argv=None) -> None:
    args = parse_args(argv)
    cfg = build_cfg(args)
    resume_warning = resolve_resume(cfg, args.resume)
    try:
        check_dir_writable(cfg.work_dir)  # before the Runner writes its log and config there
    except WorkDirError as exc:
        sys.exit(str(exc))
    runner = Runner.from_cfg(cfg)
    if resume_warning:
        runner.logger.warning(resume_warning)
    try:
        check_checkpoint_space(
            runner.work_dir, estimate_checkpoint_bytes(runner.model, _optimizer_name(cfg)))
    except WorkDirError as exc:
        sys.exit(str(exc))
    runner.train()
    teardown_launcher()


if __name__ == '__main__':
    main()
