"""How much AVS models rely on sound: evaluate them under audio noise, negative audio and frame mixing.

One model::

    python tools/analysis_tools/robustness.py CONFIG CKPT [--suite snr,r2bench,negative,framemix] [--out DIR]
        [--snr 20,10,0,-10] [--severities 1,2,3,4,5] [--seed 0] [--frame-mix-fraction 0.25]
        [--data-root DIR] [--split test] [--batch-size 4] [--device cpu] [--cfg-options KEY=VALUE ...]

Several models (the same perturbed data for all, from ``--seed``)::

    python tools/analysis_tools/robustness.py base=configs/baseline/baseline_r50_s4.py:base.pth \\
        icf=configs/icl/icl_r50_s4.py:icf.pth --suite snr

Prints one table (rows: conditions; per model J / F legacy, the mmavs J / F, FPR and G-mIoU of negative audio)
and writes ``DIR/robustness.json``, ``DIR/robustness.md`` and ``DIR/j_vs_snr.png``. Everything given is checked
(files, levels, wav files, noise donors, clips to mix) before any model is built. See docs/robustness.md.
"""
import argparse
import os.path as osp
import sys
from dataclasses import dataclass
from datetime import datetime
from typing import List, Optional, Sequence, Tuple

from mmengine.config import DictAction
from mmengine.logging import MMLogger
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from mmavs.apis import init_model
from mmavs.apis.inference import load_inference_config
from mmavs.apis.robustness import (
    SEVERITIES,
    SUITES,
    avs_metric_cfg,
    build_conditions,
    check_suites,
    prepare_conditions,
    run_conditions,
)
from mmavs.apis.robustness_report import robustness_record, table_rows, write_outputs
from mmavs.datasets.perturbations import DEFAULT_SNR_LEVELS, check_severity
from mmavs.utils.work_dir import WorkDirError, check_dir_writable


@dataclass(frozen=True)
class ModelSpec:
    """A model to evaluate: its column name, config and checkpoint."""

    name: str
    config: str
    checkpoint: str


def _float_list(text: str) -> Tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(','))
    except ValueError:
        raise argparse.ArgumentTypeError(f'SNR levels must be comma-separated numbers in dB, got {text!r}') from None


def _severity_list(text: str) -> Tuple[int, ...]:
    try:
        return tuple(check_severity(int(v), '--severities') for v in text.split(','))
    except ValueError as err:
        raise argparse.ArgumentTypeError(
            f'severities must be comma-separated integers in 1-5, got {text!r} ({err})') from None


def parse_model_specs(positionals: Sequence[str]) -> List[ModelSpec]:
    """``CONFIG CKPT`` or ``[NAME=]CONFIG:CKPT ...`` into model specs; files are checked.

    Raises:
        ValueError: A malformed spec, a repeated name, or a missing config / checkpoint file.
    """
    if len(positionals) == 2 and not any(':' in p for p in positionals):
        pairs = [(None, positionals[0], positionals[1])]
    else:
        pairs = []
        for spec in positionals:
            name, eq, rest = spec.partition('=')
            if not eq:
                name, rest = None, spec
            config, colon, checkpoint = rest.partition(':')
            if not colon or not config or not checkpoint or (eq and not name):
                raise ValueError(f'malformed model spec {spec!r}: expected [NAME=]CONFIG:CKPT (or exactly two '
                                 'arguments CONFIG CKPT for one model)')
            pairs.append((name, config, checkpoint))
    specs = []
    for name, config, checkpoint in pairs:
        if not osp.isfile(config):
            raise ValueError(f'config file "{config}" does not exist')
        if '://' not in checkpoint and not osp.isfile(checkpoint):
            raise ValueError(f'checkpoint file "{checkpoint}" does not exist (config {config})')
        specs.append(ModelSpec(name or osp.splitext(osp.basename(config))[0], config, checkpoint))
    names = [s.name for s in specs]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f'model names {repeated} are used twice; name the models NAME=CONFIG:CKPT')
    return specs


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument('models', nargs='+', help='CONFIG CKPT, or [NAME=]CONFIG:CKPT for each model')
    parser.add_argument('--suite', default=','.join(SUITES), help=f'comma-separated suites among {SUITES}')
    parser.add_argument('--out', help='output directory (default: work_dirs/robustness/<first model>)')
    parser.add_argument('--snr', type=_float_list, default=DEFAULT_SNR_LEVELS,
                        help='SNR levels (dB) of "snr"; write --snr=-10,0 when the first one is negative')
    parser.add_argument('--severities', type=_severity_list, default=SEVERITIES, help='R2-Bench severities')
    parser.add_argument('--seed', type=int, default=0, help='seed of every perturbation (same for all models)')
    parser.add_argument('--frame-mix-fraction', type=float, default=0.25, help='share of frame-mixed clips')
    parser.add_argument('--data-root', help='replace the test dataset\'s data_root')
    parser.add_argument('--split', default='test', help='split evaluated (default: test)')
    parser.add_argument('--batch-size', type=int, default=4, help='clips per test_step')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--log-level', default='WARNING', help='MMLogger level (INFO shows the metric tables)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings, key=value')
    args = parser.parse_args(argv)
    try:
        args.suites = check_suites(args.suite)
        args.specs = parse_model_specs(args.models)
        args.conditions = build_conditions(args.suites, args.snr, args.severities, args.seed,
                                           args.frame_mix_fraction)
    except (ValueError, TypeError) as err:
        parser.error(str(err))
    if args.batch_size < 1:
        parser.error(f'--batch-size must be >= 1, got {args.batch_size}')
    return args


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Run the tool; returns the ``robustness.json`` record."""
    args = parse_args(argv)
    # a new logger per run becomes MMEngine's current one (the metrics log there), at the requested level
    MMLogger.get_instance(f'robustness_{datetime.now():%Y%m%d_%H%M%S_%f}', log_level=args.log_level)
    out_dir = args.out or osp.join('work_dirs', 'robustness', args.specs[0].name)
    try:
        check_dir_writable(out_dir, what='--out directory')
    except WorkDirError as exc:
        sys.exit(str(exc))
    # every dataset of every model is built and checked before the first model
    setups = []
    for spec in args.specs:
        cfg = load_inference_config(spec.config, args.cfg_options)
        setups.append((spec, cfg, avs_metric_cfg(cfg.get('test_evaluator')),
                       prepare_conditions(cfg, args.conditions, args.split, args.data_root)))
    results = {}
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task('robustness', total=len(setups) * len(args.conditions))
        for spec, cfg, metric_cfg, prepared in setups:
            model = init_model(cfg, spec.checkpoint, args.device)

            def advance(condition, index, total, name=spec.name):
                progress.update(task, description=f'{name}: {condition.name}', advance=int(index > 0))

            results[spec.name] = run_conditions(model, prepared, metric_cfg, args.batch_size, advance)
            progress.advance(task)
    header, rows = table_rows(results, args.conditions)
    table = Table(title=f'Robustness on {args.split} (%), seed {args.seed}')
    for i, column in enumerate(header):
        table.add_column(column, justify='left' if i == 0 else 'right')
    for row in rows:
        table.add_row(*row)
    Console(file=sys.stdout, width=max(100, 14 * len(header))).print(table)
    settings = dict(suites=list(args.suites), snr_levels=list(args.snr), severities=list(args.severities),
                    seed=args.seed, frame_mix_fraction=args.frame_mix_fraction, split=args.split,
                    data_root=args.data_root, batch_size=args.batch_size, cfg_options=args.cfg_options)
    models = {s.name: dict(config=s.config, checkpoint=s.checkpoint) for s in args.specs}
    record = robustness_record(results, args.conditions, models, settings)
    written = write_outputs(out_dir, record, header, rows, results, args.conditions)
    for path in written.values():
        Console(file=sys.stdout, soft_wrap=True).print(f"written {path}")
    return record


if __name__ == '__main__':
    main()
