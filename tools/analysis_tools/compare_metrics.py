"""Print metric JSON files (written by ``tools/test.py --out``) side by side, or the per-class tables of two runs.

Examples::

    python tools/analysis_tools/compare_metrics.py "own audio=a.json" "shuffled audio=b.json"
    # per class (AVSS, tools/test.py --out-dir DIR or its per_class.csv): J / F of A and B, B - A
    python tools/analysis_tools/compare_metrics.py --per-class baseline=results/base icf=results/icf/per_class.csv \\
        --sort diff --out compare.md

The per-class comparison uses J / F over frames with GT (``--score legacy``: the legacy per-class J / F),
sorts by the J difference B - A (largest first) or by class name (``--sort name``), marks the classes absent
from the GT of both runs and leaves them out of the means; the two tables must list the same classes.
"""
import argparse
import os.path as osp
import sys
from typing import Dict, List, Tuple

from rich.console import Console
from rich.table import Table

from mmavs.evaluation.per_class import (
    COMPARE_SORTS,
    SCORE_COLUMNS,
    compare_per_class,
    comparison_cells,
    comparison_headers,
    comparison_markdown,
    read_per_class_csv,
    resolve_per_class_csv,
)
from mmavs.utils.json_file import read_json_object


def split_spec(spec: str) -> Tuple[str, str]:
    """``NAME=PATH`` (or ``PATH``) as ``(name, path)``; the name defaults to the file name."""
    name, _, path = spec.rpartition('=')
    return name or osp.basename(osp.normpath(path)), path


def load_runs(specs: List[str]) -> List[Tuple[str, Dict[str, float]]]:
    """Read ``NAME=PATH`` (or ``PATH``) specs into ``(name, metrics)`` pairs."""
    runs = []
    for spec in specs:
        name, path = split_spec(spec)
        runs.append((name, read_json_object(path, 'compare_metrics')))
    return runs


def print_metrics(specs: List[str], console: Console) -> None:
    runs = load_runs(specs)
    keys = list(dict.fromkeys(k for _, m in runs for k in m))
    table = Table(title='AVS metrics (%)')
    table.add_column('metric')
    for name, _ in runs:
        table.add_column(name, justify='right')
    for key in keys:
        cells = [f'{m[key]:.2f}' if isinstance(m.get(key), (int, float)) else '-' for _, m in runs]
        table.add_row(key, *cells)
    console.print(table)


def per_class(specs: List[str], score: str, sort: str, out: str, console: Console) -> None:
    """Print (and with ``out`` write as Markdown) the per-class comparison of two runs."""
    (name_a, path_a), (name_b, path_b) = [split_spec(s) for s in specs]
    path_a, path_b = resolve_per_class_csv(path_a), resolve_per_class_csv(path_b)
    comparison = compare_per_class(read_per_class_csv(path_a), read_per_class_csv(path_b),
                                   sources=(path_a, path_b), score=score, sort=sort)
    headers = comparison_headers(name_a, name_b)
    table = Table(title=f'Per-class J / F ({score}, %): A = {name_a}, B = {name_b}')
    for header in headers:
        table.add_column(header, justify='left' if header == 'Class' else 'right')
    cells = comparison_cells(comparison)
    for i, row in enumerate(cells):
        table.add_row(*row, end_section=i == len(cells) - 2)
    console.print(table)
    if out:
        with open(out, 'w') as f:
            f.write(comparison_markdown(comparison, name_a, name_b,
                                        [f'A: {path_a}', f'B: {path_b}', f'scores: {score}', f'sorted by: {sort}']))
        console.print(f'wrote {out}')


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('runs', nargs='*', help='NAME=PATH of a metrics JSON')
    parser.add_argument('--per-class', nargs=2, metavar='NAME=DIR_OR_CSV',
                        help='compare the per-class tables of two runs (tools/test.py --out-dir DIR, or a '
                        'per_class.csv)')
    parser.add_argument('--sort', choices=COMPARE_SORTS, default='diff',
                        help='with --per-class: by J difference B - A (default) or by class name')
    parser.add_argument('--score', choices=tuple(SCORE_COLUMNS), default='gt',
                        help='with --per-class: J / F over frames with GT (default) or the legacy per-class J / F')
    parser.add_argument('--out', metavar='FILE.md', help='with --per-class: also write the table as Markdown')
    args = parser.parse_args(argv)
    if bool(args.runs) == bool(args.per_class):
        parser.error('give either metric JSON files (NAME=PATH ...) or --per-class NAME=A NAME=B')
    if args.out and not args.per_class:
        parser.error('--out writes the --per-class comparison: give --per-class too')
    console = Console(file=sys.stdout, width=140)
    if args.per_class:
        per_class(args.per_class, args.score, args.sort, args.out, console)
    else:
        print_metrics(args.runs, console)


if __name__ == '__main__':
    main()
