"""Mean +- std table of an ablation over seeds (J, F with own audio; J, F with shuffled audio; the audio gap).

Each run is a folder with ``metrics.json`` (``tools/test.py --out``) and ``metrics_shuffled.json``
(``tools/test.py --shuffle-audio 0 --out``), as written by ``tools/misc/run_ablation.sh``. Runs given with the
same name are seeds of one row, rows keep the order of first appearance.

Example::

    python tools/analysis_tools/ablation_table.py baseline=work_dirs/abl/b/seed0 baseline=work_dirs/abl/b/seed1 \\
        full=work_dirs/abl/f/seed0 full=work_dirs/abl/f/seed1 --out table.md
"""
import argparse
import json
import math
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence, Tuple

#: (column title, metrics file, metric key); the key is looked up with and without the ``avs/`` prefix.
COLUMNS: Tuple[Tuple[str, str, str], ...] = (
    ('J', 'metrics.json', 'J_legacy'),
    ('F', 'metrics.json', 'F_legacy'),
    ('J shuffled audio', 'metrics_shuffled.json', 'J_legacy'),
    ('F shuffled audio', 'metrics_shuffled.json', 'F_legacy'),
)


def read_metric(path: str, key: str) -> float:
    """Value of ``key`` (or ``avs/key``) in the metrics JSON at ``path``.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: The file is not a JSON object or lacks the key.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'ablation_table: metrics file not found: {path}')
    try:
        with open(path) as f:
            metrics = json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(f'ablation_table: {path} is not valid JSON ({e})') from e
    if not isinstance(metrics, dict):
        raise ValueError(f'ablation_table: {path} must hold a JSON object of metrics')
    for name in (key, f'avs/{key}'):
        if isinstance(metrics.get(name), (int, float)):
            return float(metrics[name])
    raise ValueError(f'ablation_table: {path} has no numeric {key!r} (keys: {sorted(metrics)})')


def mean_std(values: Sequence[float]) -> Tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, 0.
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def collect(specs: Sequence[str]) -> Dict[str, List[Dict[str, float]]]:
    """Group ``NAME=RUN_DIR`` specs by name; each run gives one value per column (plus ``gap`` = J - J shuffled)."""
    rows: Dict[str, List[Dict[str, float]]] = {}
    for spec in specs:
        name, sep, run_dir = spec.partition('=')
        if not sep or not name or not run_dir:
            raise ValueError(f'ablation_table: expected NAME=RUN_DIR, got {spec!r}')
        values = {title: read_metric(osp.join(run_dir, file), key) for title, file, key in COLUMNS}
        values['audio gap (J - J shuffled)'] = values['J'] - values['J shuffled audio']
        rows.setdefault(name, []).append(values)
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


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('runs', nargs='+', help='NAME=RUN_DIR (repeat a name for its seeds)')
    parser.add_argument('--out', help='also write the markdown table to this file')
    args = parser.parse_args(argv)
    table = format_table(collect(args.runs))
    sys.stdout.write(table + '\n')
    if args.out:
        with open(args.out, 'w') as f:
            f.write(table + '\n')


if __name__ == '__main__':
    main()
