"""Check a downloaded copy of AVSBench S4, MS3 or AVSS before training on it.

Examples::

    python tools/dataset_converters/check_avsbench.py data/AVSBench/Single-source
    python tools/dataset_converters/check_avsbench.py data/AVSBench/AVSS --workers 8 --fix-report avss_problems.csv

``ROOT`` is the folder a config's ``data_root`` names; the subset is recognised from its metadata files
(``--subset`` to force it). Every metadata row is read and every clip's frames, masks and audio are opened
(see :mod:`mmavs.datasets.checking`). Prints a summary table per split and every problem with its path; exits
1 when there is an error (with ``--strict``: any problem, warnings included), 2 when ROOT holds no subset.
"""
import argparse
import sys
from typing import List, Optional

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from mmavs.datasets.checking import CONFIG_BASES, CheckReport, check_dataset, write_problems_csv
from mmavs.datasets.checking.layout import DATASETS

#: Problems printed in full; the rest are counted (all of them go to --fix-report).
MAX_PRINTED = 200


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description='Check a copy of an AVSBench subset.')
    parser.add_argument('root', help="the folder a config's data_root names, e.g. data/AVSBench/Single-source")
    parser.add_argument('--subset', choices=tuple(DATASETS), help='default: recognised from the files')
    parser.add_argument('--workers', type=int, default=1, help='processes checking clips in parallel')
    parser.add_argument('--fix-report', metavar='FILE', help='write every problem to this CSV file')
    parser.add_argument('--without-gt', action='store_true',
                        help='an unlabeled copy (no masks expected; datasets read it with with_gt=False)')
    parser.add_argument('--strict', action='store_true', help='warnings make the check fail too')
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f'--workers must be at least 1, got {args.workers}')
    return args


def summary_table(report: CheckReport) -> Table:
    """Clips per split: listed in the metadata, without an error, published."""
    table = Table(title=f'{report.subset} at {report.root} ({CONFIG_BASES[report.subset]})')
    for column in ('split', 'metadata rows', 'clips without error', 'published'):
        table.add_column(column, justify='left' if column == 'split' else 'right')
    for count in report.counts:
        published = '-' if count.published is None else str(count.published)
        table.add_row(count.split, str(count.metadata), str(count.clean), published)
    return table


def print_report(report: CheckReport, console: Console) -> None:
    """The summary table, the notes, and the problems with their paths."""
    console.print(summary_table(report))
    for note in report.notes:
        console.print(f'note: {note}', highlight=False)
    for problem in report.problems[:MAX_PRINTED]:
        where = f' [{problem.split}/{problem.clip}]' if problem.clip else ''
        console.print(f'{problem.severity.upper()} {problem.kind}{where}: {problem.path}: {problem.message}',
                      highlight=False, markup=False, soft_wrap=True)
    if len(report.problems) > MAX_PRINTED:
        console.print(f'... and {len(report.problems) - MAX_PRINTED} more (write them all with --fix-report FILE)')
    console.print(f'{report.num("error")} error(s), {report.num("warning")} warning(s)', highlight=False)


def main(argv: Optional[List[str]] = None) -> int:
    """Run the check; the exit code (0 clean, 1 problems, 2 no subset at ROOT)."""
    args = parse_args(argv)
    console = Console(stderr=False)
    progress = Progress(TextColumn('checking clips'), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                        console=console, transient=True)
    task = progress.add_task('clips', total=None)
    try:
        with progress:
            report = check_dataset(args.root, args.subset, args.workers, with_gt=not args.without_gt,
                                   on_clip=lambda done, total: progress.update(task, completed=done, total=total))
    except (FileNotFoundError, ValueError) as e:
        console.print(f'ERROR: {e}', highlight=False, markup=False)
        return 2
    print_report(report, console)
    if args.fix_report:
        write_problems_csv(report.problems, args.fix_report)
        console.print(f'problems written to {args.fix_report}', highlight=False)
    return 1 if report.failed(args.strict) else 0


if __name__ == '__main__':
    sys.exit(main())
