"""Evaluate a trained AVS model.

Examples::

    python tools/test.py CONFIG CHECKPOINT
    python tools/test.py CONFIG CHECKPOINT --shuffle-audio       # each clip gets another clip's audio
    python tools/test.py CONFIG CHECKPOINT --out metrics.json --cfg-options test_evaluator.legacy_batch_size=2
    python tools/test.py CONFIG CHECKPOINT --out-dir results/avss  # metrics.json (+ AVSS per_class.csv / .md)
    python tools/test.py CONFIG CHECKPOINT --show-dir vis --interval 10  # vis/<vid>.png for every 10th clip
    python tools/test.py CONFIG CHECKPOINT --save-pred results/s4 --zip   # masks in the AVSBench layout + zip
    tools/dist_test.sh CONFIG CHECKPOINT 2

The checkpoint is loaded strictly: missing, unexpected or mis-shaped keys (a checkpoint of another
architecture or number of classes) stop the run with the keys listed; ``--allow-partial`` evaluates the
partly loaded model anyway and says so in the log and in ``--out``.

A test split without ground truth (``--cfg-options test_dataloader.dataset.with_gt=False``, e.g. a folder of
your own videos converted by ``tools/dataset_converters/videos_to_avsbench.py`` without masks) has nothing to
score: the run then needs ``--save-pred`` and / or ``--show-dir``, refuses ``--out`` / ``--out-dir``, and runs
the model with no metric (``test_evaluator`` emptied, said in the log)::

    python tools/test.py CONFIG CHECKPOINT --save-pred results/mine \
        --cfg-options test_dataloader.dataset.data_root=data/mine test_dataloader.dataset.with_gt=False

``--out-dir DIR`` writes ``DIR/metrics.json`` (what ``--out`` writes) and, for multiclass (AVSS) metrics,
the per-class tables ``DIR/per_class.csv`` and ``DIR/per_class.md`` (:mod:`mmavs.evaluation.per_class`) of
the first multiclass ``AVSMetric`` of ``test_evaluator``; a further one writes ``per_class_{prefix}.csv`` /
``.md``. Binary tasks (S4 / MS3) have no per-class tables. In distributed runs rank 0 writes the files.
"""
import argparse
import json
import os.path as osp
import sys

from mmengine.config import Config
from mmengine.runner import Runner

import mmavs  # noqa: F401  (compat shims before mmseg / torch.load are touched)
from mmavs.engine import load_model_checkpoint
from mmavs.evaluation.per_class import save_per_class_tables
from mmavs.utils import setup_launcher, teardown_launcher
from mmavs.utils.tool_args import add_runner_args, load_config, parse_runner_args
from mmavs.utils.work_dir import WorkDirError, check_dir_writable


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (evaluate) an AVS segmentor')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--shuffle-audio',
        nargs='?',
        type=int,
        const=0,
        metavar='SEED',
        help='replace each clip\'s audio with another clip\'s (seeded derangement) to measure how '
        'much the model relies on sound')
    parser.add_argument('--out', help='write the metrics to this JSON file')
    parser.add_argument(
        '--out-dir',
        metavar='DIR',
        help='write DIR/metrics.json (as --out) and, for multiclass (AVSS) metrics, the per-class tables '
        'DIR/per_class.csv and DIR/per_class.md')
    parser.add_argument(
        '--allow-partial',
        action='store_true',
        help='evaluate even when the checkpoint does not fit the model (missing / unexpected / mis-shaped '
        'keys keep their initialisation); the log and --out then say so')
    parser.add_argument(
        '--save-pred',
        metavar='DIR',
        help='write every predicted mask to DIR/pred_masks in the AVSBench layout and file names, and '
        'DIR/manifest.json (SavePredMasksHook); score them again with tools/analysis_tools/eval_masks.py')
    parser.add_argument(
        '--zip',
        action='store_true',
        help='with --save-pred: also pack DIR/segmentation_results_{subset}_{split}.zip (masks + manifest)')
    parser.add_argument(
        '--show-dir',
        help='write one image per test clip into this directory, <vid>.png: the frames with the ground truth '
        'and the prediction painted over them (AVSVisualizationHook / AVSLocalVisualizer)')
    parser.add_argument(
        '--interval', type=int, metavar='N', help='with --show-dir: draw every N-th test clip (default: every clip)')
    add_runner_args(parser)
    args = parse_runner_args(parser, argv)
    if args.zip and not args.save_pred:
        parser.error('--zip packs the masks of --save-pred DIR: give --save-pred too')
    if args.interval is not None and (args.show_dir is None or args.interval < 1):
        parser.error('--interval N needs --show-dir and N >= 1')
    return args


def trigger_visualization_hook(cfg: Config, args: argparse.Namespace) -> None:
    """Turn on the config's visualization hook for ``--show-dir`` (the shape of mmseg's tools/test.py)."""
    hook = cfg.default_hooks.get('visualization')
    if hook is None:
        raise RuntimeError('--show-dir needs default_hooks.visualization = dict(type=\'AVSVisualizationHook\') in '
                           'the config (configs/_base_/default_runtime.py has it)')
    hook.update(draw=True, out_dir=args.show_dir, interval=args.interval or 1)


def test_set_has_gt(cfg: Config) -> bool:
    """False when the test dataset, or a dataset it wraps, is built with ``with_gt=False``."""
    dataset = cfg.test_dataloader.get('dataset')
    while dataset is not None:
        if dataset.get('with_gt', True) is False:
            return False
        dataset = dataset.get('dataset')
    return True


def predict_only(cfg: Config, args: argparse.Namespace) -> None:
    """An unlabeled test split: check that the run writes predictions, and empty ``test_evaluator``."""
    wanted = [flag for flag, value in (('--out', args.out), ('--out-dir', args.out_dir)) if value]
    if wanted:
        raise ValueError(f'the test split has no ground truth (test_dataloader.dataset.with_gt=False): there are no '
                         f'metrics for {" / ".join(wanted)}; use --save-pred DIR or --show-dir DIR')
    if not (args.save_pred or args.show_dir):
        raise ValueError('the test split has no ground truth (test_dataloader.dataset.with_gt=False): nothing to '
                         'score; give --save-pred DIR (masks) and / or --show-dir DIR (overlays)')
    cfg.test_evaluator = []


def build_cfg(args: argparse.Namespace) -> Config:
    cfg = load_config(args.config, args.cfg_options, args.work_dir)
    if not test_set_has_gt(cfg):
        predict_only(cfg, args)
    cfg.load_from = args.checkpoint
    cfg.resume = False
    if args.shuffle_audio is not None:
        dataset = cfg.test_dataloader.dataset
        if 'pipeline' not in dataset:
            raise ValueError(
                '--shuffle-audio sets test_dataloader.dataset.audio_shuffle_seed, but the test dataset '
                f'is a wrapper ({dataset.get("type")}); set the option on the wrapped dataset instead.')
        dataset.audio_shuffle_seed = args.shuffle_audio
    if args.save_pred:
        cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
            dict(type='SavePredMasksHook', out_dir=args.save_pred, zip=args.zip, checkpoint=args.checkpoint)]
    if args.show_dir is not None:
        trigger_visualization_hook(cfg, args)
    setup_launcher(cfg, args.launcher)
    return cfg


def write_metrics_json(path: str, metrics: dict) -> None:
    """The metrics as JSON (numbers as floats)."""
    with open(path, 'w') as f:
        json.dump({k: float(v) if isinstance(v, (int, float)) else v for k, v in metrics.items()}, f, indent=2)


def write_out_dir(args: argparse.Namespace, runner: Runner, metrics: dict) -> None:
    """``--out-dir``: metrics.json, and the per-class tables of the multiclass metrics."""
    write_metrics_json(osp.join(args.out_dir, 'metrics.json'), metrics)
    dataset = runner.test_dataloader.dataset
    split = getattr(dataset, 'split', None) or getattr(getattr(dataset, 'dataset', None), 'split', '?')
    header = [f'config: {args.config}', f'checkpoint: {args.checkpoint}', f'split: {split}']
    written = save_per_class_tables(args.out_dir, runner.test_loop.evaluator.metrics, header)
    if written:
        runner.logger.info(f'--out-dir: wrote metrics.json and the per-class tables {written}')
    else:
        runner.logger.info(f'--out-dir: wrote {osp.join(args.out_dir, "metrics.json")}; per-class tables are '
                           'written for multiclass (AVSS) metrics only, this test_evaluator has none')


def main(argv=None) -> dict:
    args = parse_args(argv)
    try:
        cfg = build_cfg(args)
    except ValueError as exc:  # a run that cannot do what was asked: say why, without a traceback
        sys.exit(f'tools/test.py: {exc}')
    try:  # before the Runner writes its log there, and before a whole evaluation is run for nothing
        check_dir_writable(cfg.work_dir)
        if args.out:
            check_dir_writable(osp.dirname(osp.abspath(args.out)), what='directory of --out')
        if args.out_dir:
            check_dir_writable(args.out_dir, what='--out-dir directory')
        if args.save_pred:
            check_dir_writable(args.save_pred, what='--save-pred directory')
        if args.show_dir:
            check_dir_writable(args.show_dir, what='--show-dir directory')
    except WorkDirError as exc:
        sys.exit(str(exc))
    # The Runner's own load_from is non-strict; load the checkpoint strictly here instead.
    checkpoint, cfg.load_from = cfg.load_from, None
    runner = Runner.from_cfg(cfg)
    if not cfg.test_evaluator:
        runner.logger.info('The test split has no ground truth (with_gt=False): the model runs for its predictions '
                           'only, no metric is computed.')
    match = load_model_checkpoint(runner.model, checkpoint, allow_partial=args.allow_partial)
    metrics = runner.test()
    teardown_launcher()
    if not match.complete:
        runner.logger.warning(
            f'The metrics above are of a PARTIALLY loaded model (--allow-partial): {match.describe()}.')
        metrics = dict(metrics, **{'checkpoint/missing_keys': len(match.missing),
                                   'checkpoint/unexpected_keys': len(match.unexpected),
                                   'checkpoint/mismatched_keys': len(match.mismatched)})
    if runner.rank == 0:  # the directories were created by check_dir_writable above
        if args.out:
            write_metrics_json(args.out, metrics)
        if args.out_dir:
            write_out_dir(args, runner, metrics)
    return metrics


if __name__ == '__main__':
    main()
