"""Mean +- std table of an ablation over seeds (J, F with own audio; J, F with shuffled audio; the audio gap).

Each run is a folder with ``metrics.json`` (``tools/test.py --out``) and ``metrics_shuffled.json``
(``tools/test.py --shuffle-audio 0 --out``), as written by ``tools/misc/run_ablation.sh``; runs of the
visual-bias probe (``run_ablation.sh --generate visual-bias``) also have ``metrics_contradict.json`` (the
shortcut-contradicting test split), which adds its J, F and the shortcut gap (J - J contradicting) as columns
(all runs or none must have it). Runs given with the
same name are seeds of one row, rows keep the order of first appearance. A second table compares every row
with a reference row (``--reference NAME``, default the first): the difference of the mean J and F and the
two-sided p-value of an exact permutation test over the seeds (every split of the pooled runs into groups of
the two sizes), i.e. how often a difference at least this large comes from seed noise alone.

Example::

    python tools/analysis_tools/ablation_table.py baseline=work_dirs/abl/b/seed0 baseline=work_dirs/abl/b/seed1 \\
        full=work_dirs/abl/f/seed0 full=work_dirs/abl/f/seed1 --out table.md
"""
import argparse
import itertools
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence, Tuple

from mmavs.utils.json_file import read_json_object
from mmavs.utils.stats import mean_std

#: (column title, metrics file, metric key); the key is looked up with and without the ``avs/`` prefix.
COLUMNS: Tuple[Tuple[str, str, str], ...] = (
    ('J', 'metrics.json', 'J_legacy'),
    ('F', 'metrics.json', 'F_legacy'),
    ('J shuffled audio', 'metrics_shuffled.json', 'J_legacy'),
    ('F shuffled audio', 'metrics_shuffled.json', 'F_legacy'),
)
#: Columns of the visual-bias probe, used when the runs have the file.
CONTRADICT_COLUMNS: Tuple[Tuple[str, str, str], ...] = (
    ('J contradicting', 'metrics_contradict.json', 'J_legacy'),
    ('F contradicting', 'metrics_contradict.json', 'F_legacy'),
)


def read_metric(path: str, key: str) -> float:
    """Value of ``key`` (or ``avs/key``) in the metrics JSON at ``path``.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: The file is not a JSON object or lacks the key.
    """
    metrics = read_json_object(path, 'ablation_table')
    for name in (key, f'avs/{key}'):
        if isinstance(metrics.get(name), (int, float)):
            return float(metrics[name])
    raise ValueError(f'ablation_table: {path} has no numeric {key!r} (keys: {sorted(metrics)})')


def permutation_p_value(first: Sequence[float], second: Sequence[float]) -> float:
    """Two-sided exact permutation test of the difference of means of two groups of runs.

    Every way of splitting the pooled values into groups of ``len(first)`` and ``len(second)`` is enumerated;
    the p-value is the fraction of splits whose absolute mean difference is at least the observed one.

    Args:
        first (Sequence[float]): Values of group 1 (>= 1).
        second (Sequence[float]): Values of group 2 (>= 1).

    Returns:
        float: p in ``(0, 1]``.

    Raises:
        ValueError: A group is empty, or there are more than 20 values in all (too many splits to enumerate).
    """
    if not first or not second:
        raise ValueError('ablation_table: a permutation test needs at least one run in each group')
    pooled = list(first) + list(second)
    if len(pooled) > 20:
        raise ValueError(f'ablation_table: at most 20 runs in two rows for the exact permutation test, '
                         f'got {len(pooled)}')
    n, total = len(first), sum(pooled)

    def abs_diff(group_sum: float) -> float:
        return abs(group_sum / n - (total - group_sum) / (len(pooled) - n))

    observed = abs_diff(sum(first))
    splits = [abs_diff(sum(pooled[i] for i in idx)) for idx in itertools.combinations(range(len(pooled)), n)]
    tol = 1e-9 * max(1., observed)
    return sum(d >= observed - tol for d in splits) / len(splits)


def collect(specs: Sequence[str]) -> Dict[str, List[Dict[str, float]]]:
    """Group ``NAME=RUN_DIR`` specs by name; each run gives one value per column (plus ``gap`` = J - J shuffled)."""
    rows: Dict[str, List[Dict[str, float]]] = {}
    probe_runs = []
    for spec in specs:
        name, sep, run_dir = spec.partition('=')
        if not sep or not name or not run_dir:
            raise ValueError(f'ablation_table: expected NAME=RUN_DIR, got {spec!r}')
        probe_runs.append(osp.isfile(osp.join(run_dir, CONTRADICT_COLUMNS[0][1])))
        columns = COLUMNS + (CONTRADICT_COLUMNS if probe_runs[-1] else ())
        values = {title: read_metric(osp.join(run_dir, file), key) for title, file, key in columns}
        values['audio gap (J - J shuffled)'] = values['J'] - values['J shuffled audio']
        if probe_runs[-1]:
            values['shortcut gap (J - J contradicting)'] = values['J'] - values['J contradicting']
        rows.setdefault(name, []).append(values)
    if any(probe_runs) and not all(probe_runs):
        missing = [s for s, has in zip(specs, probe_runs) if not has]
        raise ValueError(f'ablation_table: some runs have {CONTRADICT_COLUMNS[0][1]} and these do not: {missing}')
    return rows


def format_table(rows: Dict[str, List[Dict[str, float]]]) -> str:
    """Markdown table: one row per name, ``mean +- std (n)`` per column."""
    titles = list(next(iter(rows.values()))[0])
    lines = ['| run | seeds | ' + ' | '.join(titles) + ' |', '|---|---|' + '---|' * len(titles)]
    for name, runs in rows.items():
        cells = []
        for title in titles:
            mean, std = mean_std([r[title] for r in runs])
            cells.append(f'{mean:.2f} +- {std:.2f}')
        lines.append(f'| {name} | {len(runs)} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def format_comparison(rows: Dict[str, List[Dict[str, float]]], reference: str) -> str:
    """Markdown table: each row against ``reference``: mean difference and permutation p-value of J and F."""
    if reference not in rows:
        raise ValueError(f'ablation_table: --reference {reference!r} is not a row (rows: {list(rows)})')
    ref = rows[reference]
    titles = ['J', 'F'] + (['J contradicting'] if 'J contradicting' in ref[0] else [])
    header = ''.join(f' {t} - {t}({reference}) | p ({t}) |' for t in titles)
    lines = [f'| run | seeds |{header}', '|---|---|' + '---|---|' * len(titles)]
    for name, runs in rows.items():
        if name == reference:
            continue
        cells = []
        for title in titles:
            a, b = [r[title] for r in runs], [r[title] for r in ref]
            cells += [f'{mean_std(a)[0] - mean_std(b)[0]:+.2f}', f'{permutation_p_value(a, b):.3f}']
        lines.append(f'| {name} | {len(runs)} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('runs', nargs='+', help='NAME=RUN_DIR (repeat a name for its seeds)')
    parser.add_argument('--out', help='also write the markdown table to this file')
    parser.add_argument('--reference', help='row the others are compared with (default: the first row)')
    args = parser.parse_args(argv)
    rows = collect(args.runs)
    table = format_table(rows)
    if len(rows) > 1:
        table += '\n\n' + format_comparison(rows, args.reference or next(iter(rows)))
    sys.stdout.write(table + '\n')
    if args.out:
        with open(args.out, 'w') as f:
            f.write(table + '\n')


if __name__ == '__main__':
    main()
