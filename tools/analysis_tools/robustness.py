"""How much AVS models rely on sound: evaluate them under audio noise, negative audio and frame mixing.

One model::

    python tools/analysis_tools/robustness.py CONFIG CKPT [--suite snr,r2bench,negative,framemix] [--out DIR]
        [--snr 20,10,0,-10] [--severities 1,2,3,4,5] [--seed 0] [--frame-mix-fraction 0.25]
        [--data-root DIR] [--split test] [--batch-size 4] [--device cpu] [--cfg-options KEY=VALUE ...]

Several models (the same perturbed data for all, from ``--seed``)::

    python tools/analysis_tools/robustness.py base=configs/baseline/baseline_r50_s4.py:base.pth \\
        icf=configs/icl/icl_r50_s4.py:icf.pth --suite snr

Several seeds of one config as one column, mean +- sample std (``--group``, repeatable), also from the JSON of
an earlier run without evaluating again (``--from-json``)::

    python tools/analysis_tools/robustness.py b0=CFG_B:B0.pth b1=CFG_B:B1.pth i0=CFG_I:I0.pth i1=CFG_I:I1.pth \
        --group baseline=b0,b1 --group icf=i0,i1
    python tools/analysis_tools/robustness.py --from-json DIR/robustness.json --group baseline=b0,b1 --out DIR

Prints one table (rows: conditions; per model J / F legacy, the mmavs J / F, FPR and G-mIoU of negative audio)
and writes ``DIR/robustness.json``, ``DIR/robustness.md`` and ``DIR/j_vs_snr.png``. Everything given is checked
(files, levels, wav files, noise donors, clips to mix) before any model is built. See docs/robustness.md.
"""
import argparse
import os.path as osp
import sys
from datetime import datetime
from typing import Dict, List, Optional, Sequence, Tuple

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
    Condition,
    avs_metric_cfg,
    build_conditions,
    check_suites,
    prepare_conditions,
    run_conditions,
)
from mmavs.apis.robustness_report import (
    check_groups,
    group_results,
    group_table_rows,
    robustness_record,
    table_rows,
    write_outputs,
)
from mmavs.datasets.perturbations import DEFAULT_SNR_LEVELS, check_severity
from mmavs.utils.json_file import read_json_object
from mmavs.utils.tool_args import ModelSpec, parse_model_spec
from mmavs.utils.work_dir import WorkDirError, check_dir_writable


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
    """``CONFIG CKPT`` or ``[NAME=]CONFIG.py:CKPT ...`` into model specs (:func:`parse_model_spec`).

    Raises:
        ValueError: A malformed spec or a repeated name.
        FileNotFoundError: A missing config / checkpoint file.
    """
    if len(positionals) == 2 and not any('.py:' in p for p in positionals):
        positionals = [f'{positionals[0]}:{positionals[1]}']
    specs = [parse_model_spec(spec) for spec in positionals]
    names = [s.name for s in specs]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f'model names {repeated} are used twice; name the models NAME=CONFIG:CKPT')
    return specs


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument('models', nargs='*', help='CONFIG CKPT, or [NAME=]CONFIG:CKPT for each model')
    parser.add_argument('--group', action='append', default=[], metavar='NAME=MODEL,MODEL,...',
                        help='also report mean +- std over these models (e.g. the seeds of one config); repeatable')
    parser.add_argument('--from-json', metavar='FILE',
                        help='no evaluation: tabulate (and --group) the robustness.json of an earlier run')
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
        args.groups = parse_groups(args.group)
    except ValueError as err:
        parser.error(str(err))
    if args.from_json:
        if args.models:
            parser.error('--from-json tabulates an earlier run: give no models')
        try:
            args.record = read_record(args.from_json)
            check_groups(args.groups, list(args.record['models']))
        except ValueError as err:
            parser.error(str(err))
        return args
    if not args.models:
        parser.error('give CONFIG CKPT, [NAME=]CONFIG:CKPT ..., or --from-json FILE')
    try:
        args.suites = check_suites(args.suite)
        args.specs = parse_model_specs(args.models)
        args.conditions = build_conditions(args.suites, args.snr, args.severities, args.seed,
                                           args.frame_mix_fraction)
    except (ValueError, TypeError, FileNotFoundError) as err:
        parser.error(str(err))
    if args.batch_size < 1:
        parser.error(f'--batch-size must be >= 1, got {args.batch_size}')
    try:
        check_groups(args.groups, [s.name for s in args.specs])
    except ValueError as err:
        parser.error(str(err))
    return args


def parse_groups(specs: Sequence[str]) -> Dict[str, List[str]]:
    """``NAME=MODEL,MODEL,...`` specs into ``{name: [model, ...]}``.

    Raises:
        ValueError: A malformed spec or a repeated group name.
    """
    groups: Dict[str, List[str]] = {}
    for spec in specs:
        name, eq, members = spec.partition('=')
        if not eq or not name or not members:
            raise ValueError(f'--group expects NAME=MODEL,MODEL,..., got {spec!r}')
        if name in groups:
            raise ValueError(f'--group {name!r} is given twice')
        groups[name] = [m for m in members.split(',') if m]
    return groups


def read_record(path: str) -> dict:
    """The ``robustness.json`` at ``path``, checked for its ``settings`` / ``conditions`` / ``models``.

    Raises:
        ValueError: A missing or unreadable file, or one without those keys.
    """
    try:
        record = read_json_object(path, '--from-json')
    except FileNotFoundError as err:
        raise ValueError(str(err)) from None
    missing = [k for k in ('settings', 'conditions', 'models') if k not in record]
    if missing:
        raise ValueError(f'--from-json: {path} is not a robustness.json (missing {missing})')
    return record


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    table = Table(title=title)
    for i, column in enumerate(header):
        table.add_column(column, justify='left' if i == 0 else 'right')
    for row in rows:
        table.add_row(*row)
    Console(file=sys.stdout, width=max(100, 14 * len(header))).print(table)


def report(record: dict, results: dict, conditions: Sequence[Condition], groups: Dict[str, List[str]],
           out_dir: str) -> dict:
    """Print the tables, add the groups to ``record`` and write the outputs; returns ``record``."""
    settings = record['settings']
    header, rows = table_rows(results, conditions)
    print_table(f'Robustness on {settings["split"]} (%), seed {settings["seed"]}', header, rows)
    group_table = None
    if groups:
        grouped = group_results(results, groups)
        record['groups'] = {g: dict(models=list(m), results=grouped[g]) for g, m in groups.items()}
        group_table = group_table_rows(grouped, conditions)
        print_table('Mean +- sample std over the models of each group (%)', *group_table)
    written = write_outputs(out_dir, record, header, rows, results, conditions, group_table)
    for path in written.values():
        Console(file=sys.stdout, soft_wrap=True).print(f"written {path}")
    return record


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Run the tool; returns the ``robustness.json`` record."""
    args = parse_args(argv)
    if args.from_json:
        record = args.record
        settings = record['settings']
        conditions = [Condition(c['name'], c['suite'], c['level'], settings['seed'], settings['frame_mix_fraction'])
                      for c in record['conditions']]
        results = {name: model['results'] for name, model in record['models'].items()}
        out_dir = args.out or osp.dirname(osp.abspath(args.from_json))
        try:
            check_dir_writable(out_dir, what='--out directory')
        except WorkDirError as exc:
            sys.exit(str(exc))
        return report(record, results, conditions, args.groups, out_dir)
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
    settings = dict(suites=list(args.suites), snr_levels=list(args.snr), severities=list(args.severities),
                    seed=args.seed, frame_mix_fraction=args.frame_mix_fraction, split=args.split,
                    data_root=args.data_root, batch_size=args.batch_size, cfg_options=args.cfg_options)
    models = {s.name: dict(config=s.config, checkpoint=s.checkpoint) for s in args.specs}
    record = robustness_record(results, args.conditions, models, settings)
    return report(record, results, args.conditions, args.groups, out_dir)


if __name__ == '__main__':
    main()
