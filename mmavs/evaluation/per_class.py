"""Per-class result tables of a multiclass (AVSS) :class:`~mmavs.evaluation.AVSMetric` run.

:func:`per_class_rows` turns the metric's ``last_report`` into one :class:`PerClassRow` per class (values in
percent); the rows are written to / read from CSV (:func:`write_per_class_csv`, :func:`read_per_class_csv`),
formatted as Markdown (:func:`per_class_markdown`, also the metric's own log table through
:func:`per_class_cells`) and summarised (:func:`per_class_summary`: means over the classes present in the
GT and over all classes, with the number of classes used). :func:`compare_per_class` puts the rows of two
runs side by side (J / F of A and B and their differences), :func:`comparison_markdown` formats it.

The columns (:data:`CSV_FIELDS`):

- ``index``, ``name``: class index (0 = background) and name.
- ``J_legacy`` / ``F_legacy``: the legacy per-class J / F (padded frames included when the metric scores
  them), whose mean over all classes is the metric's ``J_legacy`` / ``F_legacy``.
- ``frames``: frames in the legacy figures where the class is predicted or in the GT (their divisor).
- ``J_gt`` / ``F_gt``: the same J / F over frames with GT only (mean over present classes: ``mJ_present`` /
  ``mF_present``); ``gt_frames`` is their divisor.
- ``frames_in_gt``: frames with GT whose GT holds the class.
- ``IoU_pooled``: IoU of the areas pooled over the split (mean over present classes: ``mJ_dataset``);
  empty (NaN) for a class neither predicted nor in the GT.
- ``FDR``: FP / (FP + TP) of the class (nan-mean over all classes: the metric's ``FDR``); NaN when the
  class is never predicted.
- ``in_gt``: ``yes`` when the class is in the GT of the split (``frames_in_gt > 0``).
"""
import csv
import math
import os.path as osp
from dataclasses import astuple, dataclass
from typing import Any, Dict, List, Mapping, NamedTuple, Sequence, Tuple

#: CSV header, in this order (also the attribute names of :class:`PerClassRow`).
CSV_FIELDS = ('index', 'name', 'J_legacy', 'F_legacy', 'frames', 'J_gt', 'F_gt', 'gt_frames', 'frames_in_gt',
              'IoU_pooled', 'FDR', 'in_gt')
#: Display headers of the columns of :func:`per_class_cells` (log, Markdown and rich tables).
DISPLAY_HEADERS = ('Class', 'J legacy', 'F legacy', 'frames', 'J (GT fr.)', 'F (GT fr.)', 'frames in GT',
                   'IoU pooled', 'FDR', 'in GT')
#: Per-class columns whose mean is an AVSMetric key: column -> (classes averaged, metric key).
#: ``'present'``: the classes in the GT; ``'all'``: all classes with a value (NaN left out).
METRIC_OF_COLUMN = {
    'J_legacy': ('all', 'J_legacy'),
    'F_legacy': ('all', 'F_legacy'),
    'J_gt': ('present', 'mJ_present'),
    'F_gt': ('present', 'mF_present'),
    'IoU_pooled': ('present', 'mJ_dataset'),
    'FDR': ('all', 'FDR'),
}
#: Names of the per-class tables written by ``tools/test.py --out-dir``.
PER_CLASS_STEM = 'per_class'
PER_CLASS_CSV = f'{PER_CLASS_STEM}.csv'
#: ``compare_per_class`` scores: ``'gt'`` (J / F over frames with GT) or ``'legacy'``.
SCORE_COLUMNS = {'gt': ('J_gt', 'F_gt'), 'legacy': ('J_legacy', 'F_legacy')}
COMPARE_SORTS = ('diff', 'name')
_INT_FIELDS = ('index', 'frames', 'gt_frames', 'frames_in_gt')
_FLOAT_FIELDS = ('J_legacy', 'F_legacy', 'J_gt', 'F_gt', 'IoU_pooled', 'FDR')


@dataclass(frozen=True)
class PerClassRow:
    """One class of a per-class table; scores in percent (NaN where undefined, see the module docstring)."""
    index: int
    name: str
    J_legacy: float
    F_legacy: float
    frames: int
    J_gt: float
    F_gt: float
    gt_frames: int
    frames_in_gt: int
    IoU_pooled: float
    FDR: float
    in_gt: bool


def per_class_rows(report: Mapping[str, Any]) -> List[PerClassRow]:
    """The rows of an :class:`~mmavs.evaluation.AVSMetric` ``last_report`` (multiclass).

    Args:
        report (Mapping): ``last_report``: ``classes`` (dict of ``[C]`` tensors ``J``, ``F``, ``frames``,
            ``J_gt``, ``F_gt``, ``gt_frames``, ``frames_in_gt``, ``IoU_pooled``, ``FDR`` as fractions,
            ``in_gt`` bool) and ``names`` (``C`` class names).

    Returns:
        list[PerClassRow]: ``C`` rows in class order, scores in percent.

    Raises:
        ValueError: The report has no per-class results (binary task), or its lengths disagree.
    """
    classes, names = report.get('classes'), list(report.get('names') or [])
    if classes is None:
        raise ValueError('per-class tables need a multiclass AVSMetric report; this one has no classes '
                         '(binary task)')
    sizes = {key: len(value) for key, value in classes.items()}
    if set(sizes.values()) != {len(names)}:
        raise ValueError(f'per-class report: {len(names)} names but per-class columns of lengths {sizes}')

    def pct(key: str, i: int) -> float:
        return 100.0 * float(classes[key][i])

    return [
        PerClassRow(
            index=i, name=str(name), J_legacy=pct('J', i), F_legacy=pct('F', i), frames=int(classes['frames'][i]),
            J_gt=pct('J_gt', i), F_gt=pct('F_gt', i), gt_frames=int(classes['gt_frames'][i]),
            frames_in_gt=int(classes['frames_in_gt'][i]), IoU_pooled=pct('IoU_pooled', i), FDR=pct('FDR', i),
            in_gt=bool(classes['in_gt'][i])) for i, name in enumerate(names)
    ]


def _fmt(value: float, digits: int = 2) -> str:
    return '-' if math.isnan(value) else f'{value:.{digits}f}'


def per_class_cells(row: PerClassRow) -> List[str]:
    """The display cells of ``row`` under :data:`DISPLAY_HEADERS` (2 decimals, ``-`` for NaN)."""
    return [row.name, _fmt(row.J_legacy), _fmt(row.F_legacy), str(row.frames), _fmt(row.J_gt), _fmt(row.F_gt),
            str(row.frames_in_gt), _fmt(row.IoU_pooled), _fmt(row.FDR), 'yes' if row.in_gt else 'no']


# ----------------------------------------------------------------------------- summary
class ColumnMean(NamedTuple):
    """Mean of a column over ``count`` of ``total`` classes (NaN when ``count`` is 0)."""
    value: float
    count: int
    total: int


def column_mean(rows: Sequence[PerClassRow], column: str, present_only: bool) -> ColumnMean:
    """Mean of ``column`` over the classes in the GT (``present_only``) or all, NaN values left out."""
    values = [getattr(r, column) for r in rows if r.in_gt or not present_only]
    values = [v for v in values if not math.isnan(v)]
    return ColumnMean(sum(values) / len(values) if values else float('nan'), len(values), len(rows))


def per_class_summary(rows: Sequence[PerClassRow]) -> Dict[str, Dict[str, ColumnMean]]:
    """Means of every score column over the classes in the GT and over all classes.

    Returns:
        dict: ``{'present': {column: ColumnMean}, 'all': {column: ColumnMean}}`` for the columns of
        :data:`METRIC_OF_COLUMN`; ``summary[METRIC_OF_COLUMN[c][0]][c].value`` equals the metric's key
        ``METRIC_OF_COLUMN[c][1]``.
    """
    return {
        selection: {column: column_mean(rows, column, selection == 'present') for column in METRIC_OF_COLUMN}
        for selection in ('present', 'all')
    }


#: Display labels of the summary's columns.
_LABELS = dict(J_legacy='J legacy', F_legacy='F legacy', J_gt='J (GT fr.)', F_gt='F (GT fr.)',
               IoU_pooled='IoU pooled', FDR='FDR')


def summary_markdown(rows: Sequence[PerClassRow]) -> str:
    """Markdown table of :func:`per_class_summary`: per column, the mean over the classes in GT and over all
    classes, each with its count ("0.37 (4 of 71)"), and the AVSMetric key it equals."""
    summary = per_class_summary(rows)
    cells = []
    for column, (selection, key) in METRIC_OF_COLUMN.items():
        means = [summary[s][column] for s in ('present', 'all')]
        cells.append([_LABELS[column]] + [f'{_fmt(m.value)} ({m.count} of {m.total})' for m in means] +
                     [f'{key} ({"classes in GT" if selection == "present" else "all classes"})'])
    return markdown_table(('Column', 'mean over classes in GT', 'mean over all classes', 'equals AVSMetric key'),
                          cells)


# ----------------------------------------------------------------------------- csv
def write_per_class_csv(path: str, rows: Sequence[PerClassRow]) -> None:
    """Write ``rows`` to ``path`` (header :data:`CSV_FIELDS`; scores with 6 decimals, ``nan`` if undefined)."""
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(CSV_FIELDS)
        for row in rows:
            cells = []
            for field, value in zip(CSV_FIELDS, astuple(row)):
                if field in _FLOAT_FIELDS:
                    cells.append('nan' if math.isnan(value) else f'{value:.6f}')
                elif field == 'in_gt':
                    cells.append('yes' if value else 'no')
                else:
                    cells.append(str(value))
            writer.writerow(cells)


def _parse_cell(field: str, text: str) -> Any:
    if field in _INT_FIELDS:
        value = int(text)
        if value < 0:
            raise ValueError('must not be negative')
        return value
    if field in _FLOAT_FIELDS:
        return float(text)
    if field == 'in_gt':
        if text not in ('yes', 'no'):
            raise ValueError("must be 'yes' or 'no'")
        return text == 'yes'
    return text


def read_per_class_csv(path: str) -> List[PerClassRow]:
    """Read a table of :func:`write_per_class_csv`.

    Raises:
        FileNotFoundError: ``path`` is not a file.
        ValueError: The header is not :data:`CSV_FIELDS`, a line has another number of cells, a value does
            not parse, the indices are not ``0, 1, ...`` or the file has no class; the message names the
            file and the line.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'per-class table not found: {path}')
    rows = []
    with open(path, newline='') as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or tuple(header) != CSV_FIELDS:
            raise ValueError(f'{path}, line 1: the header must be {",".join(CSV_FIELDS)} (a per_class.csv of '
                             f'tools/test.py --out-dir), got {",".join(header or []) or "an empty file"}')
        for cells in reader:
            where = f'{path}, line {reader.line_num}'
            if len(cells) != len(CSV_FIELDS):
                raise ValueError(f'{where}: {len(cells)} cells, expected {len(CSV_FIELDS)}')
            values = {}
            for field, text in zip(CSV_FIELDS, cells):
                try:
                    values[field] = _parse_cell(field, text)
                except ValueError as exc:
                    raise ValueError(f'{where}: {field} {text!r} is not valid ({exc})') from None
            if values['index'] != len(rows):
                raise ValueError(f'{where}: class index {values["index"]}, expected {len(rows)} (rows in class '
                                 'order from 0)')
            rows.append(PerClassRow(**values))
    if not rows:
        raise ValueError(f'{path}: no class rows below the header')
    return rows


def resolve_per_class_csv(path: str) -> str:
    """``path`` itself, or ``path/per_class.csv`` when ``path`` is a directory (``tools/test.py --out-dir``)."""
    return osp.join(path, PER_CLASS_CSV) if osp.isdir(path) else path


# ----------------------------------------------------------------------------- markdown
def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    """A GitHub Markdown table (the first ``left`` columns left-aligned, the others right-aligned)."""
    rule = [':---'] * left + ['---:'] * (len(headers) - left)
    lines = ['| ' + ' | '.join(headers) + ' |', '|' + '|'.join(rule) + '|']
    lines += ['| ' + ' | '.join(cells) + ' |' for cells in rows]
    return '\n'.join(lines)


def per_class_markdown(rows: Sequence[PerClassRow], header_lines: Sequence[str] = ()) -> str:
    """Markdown of ``rows``: ``header_lines`` (e.g. config, checkpoint), the table, and the summary means."""
    num_present = sum(r.in_gt for r in rows)
    parts = ['# Per-class results (%)', '']
    parts += [f'- {line}' for line in header_lines] + [f'- classes in GT: {num_present} of {len(rows)}', '']
    parts += [markdown_table(('#', ) + DISPLAY_HEADERS, [[str(r.index)] + per_class_cells(r) for r in rows], left=2)]
    parts += ['', '## Means', '', summary_markdown(rows)]
    return '\n'.join(parts) + '\n'


def save_per_class_tables(out_dir: str, metrics: Sequence[Any], header_lines: Sequence[str] = ()) -> List[str]:
    """Write the per-class CSV and Markdown of every multiclass metric with a per-class report.

    The first such metric writes ``per_class.csv`` / ``per_class.md``, any further one
    ``per_class_{prefix}.csv`` / ``.md`` (several metrics, e.g. frame-mixed clips and all clips).

    Args:
        out_dir (str): Existing directory.
        metrics (Sequence): Evaluator metrics; those without a ``last_report`` holding ``classes`` (binary
            AVSMetric, other metrics) are skipped.
        header_lines (Sequence[str]): Lines on top of the Markdown (config, checkpoint, split).

    Returns:
        list[str]: The files written (empty when no metric has per-class results).
    """
    written = []
    for metric in metrics:
        report = getattr(metric, 'last_report', None)
        if not report or report.get('classes') is None:
            continue
        rows = per_class_rows(report)
        stem = PER_CLASS_STEM if not written else f'{PER_CLASS_STEM}_{metric.prefix}'
        lines = list(header_lines) + ([f'metric prefix: {metric.prefix}'] if getattr(metric, 'prefix', None) else [])
        csv_path, md_path = osp.join(out_dir, f'{stem}.csv'), osp.join(out_dir, f'{stem}.md')
        write_per_class_csv(csv_path, rows)
        with open(md_path, 'w') as f:
            f.write(per_class_markdown(rows, lines))
        written += [csv_path, md_path]
    return written


# ----------------------------------------------------------------------------- comparison
@dataclass(frozen=True)
class ClassComparison:
    """One class of two runs A and B: J / F in percent, differences B - A; ``in_gt``: in the GT of A or B."""
    index: int
    name: str
    j_a: float
    j_b: float
    f_a: float
    f_b: float
    frames_in_gt_a: int
    frames_in_gt_b: int
    in_gt: bool

    @property
    def j_diff(self) -> float:
        return self.j_b - self.j_a

    @property
    def f_diff(self) -> float:
        return self.f_b - self.f_a


def compare_per_class(rows_a: Sequence[PerClassRow],
                      rows_b: Sequence[PerClassRow],
                      sources: Tuple[str, str] = ('A', 'B'),
                      score: str = 'gt',
                      sort: str = 'diff') -> List[ClassComparison]:
    """The classes of two runs side by side.

    Args:
        rows_a, rows_b (Sequence[PerClassRow]): The two tables (same classes, same order).
        sources (tuple[str, str]): How to name the tables in errors (their files).
        score (str): ``'gt'`` (``J_gt`` / ``F_gt``, over frames with GT) or ``'legacy'``. Defaults to 'gt'.
        sort (str): ``'diff'``: by J difference B - A, largest first, classes absent from both GTs last;
            ``'name'``: by class name. Defaults to 'diff'.

    Returns:
        list[ClassComparison]: One per class.

    Raises:
        ValueError: Unknown ``score`` / ``sort``, or the class lists differ (the first difference is named).
    """
    if score not in SCORE_COLUMNS:
        raise ValueError(f'compare_per_class: score must be one of {tuple(SCORE_COLUMNS)}, got {score!r}')
    if sort not in COMPARE_SORTS:
        raise ValueError(f'compare_per_class: sort must be one of {COMPARE_SORTS}, got {sort!r}')
    names_a, names_b = [r.name for r in rows_a], [r.name for r in rows_b]
    if names_a != names_b:
        first = next((i for i, (a, b) in enumerate(zip(names_a, names_b)) if a != b), None)
        if first is None:
            detail = f'{len(names_a)} classes vs {len(names_b)} classes'
        else:
            detail = f'first difference at class {first}: {names_a[first]!r} vs {names_b[first]!r}'
        raise ValueError(f'the per-class tables {sources[0]} and {sources[1]} have different class lists '
                         f'({detail})')
    j_col, f_col = SCORE_COLUMNS[score]
    result = [
        ClassComparison(index=a.index, name=a.name, j_a=getattr(a, j_col), j_b=getattr(b, j_col),
                        f_a=getattr(a, f_col), f_b=getattr(b, f_col), frames_in_gt_a=a.frames_in_gt,
                        frames_in_gt_b=b.frames_in_gt, in_gt=a.in_gt or b.in_gt) for a, b in zip(rows_a, rows_b)
    ]
    if sort == 'name':
        return sorted(result, key=lambda c: (c.name, c.index))
    return sorted(result, key=lambda c: (not c.in_gt, -c.j_diff if c.in_gt else 0.0, c.index))


def comparison_means(comparison: Sequence[ClassComparison]) -> Tuple[Dict[str, float], int]:
    """Means of ``j_a, j_b, j_diff, f_a, f_b, f_diff`` over the classes in the GT of A or B, and their count."""
    kept = [c for c in comparison if c.in_gt]
    keys = ('j_a', 'j_b', 'j_diff', 'f_a', 'f_b', 'f_diff')
    means = {k: sum(getattr(c, k) for c in kept) / len(kept) if kept else float('nan') for k in keys}
    return means, len(kept)


def comparison_headers(name_a: str, name_b: str) -> List[str]:
    """Column headers of :func:`comparison_cells`."""
    return ['Class', f'J {name_a}', f'J {name_b}', 'ΔJ (B−A)', f'F {name_a}', f'F {name_b}', 'ΔF (B−A)',
            'frames in GT']


def _signed(value: float) -> str:
    return '-' if math.isnan(value) else f'{value:+.2f}'


def comparison_cells(comparison: Sequence[ClassComparison]) -> List[List[str]]:
    """Display rows: one per class (absent ones marked ``(not in GT)``), then the mean over present classes."""
    rows = []
    for c in comparison:
        frames = str(c.frames_in_gt_a) if c.frames_in_gt_a == c.frames_in_gt_b else \
            f'{c.frames_in_gt_a} / {c.frames_in_gt_b}'
        name = c.name if c.in_gt else f'{c.name} (not in GT)'
        rows.append([name, _fmt(c.j_a), _fmt(c.j_b), _signed(c.j_diff), _fmt(c.f_a), _fmt(c.f_b), _signed(c.f_diff),
                     frames])
    means, count = comparison_means(comparison)
    rows.append([f'mean over {count} of {len(comparison)} classes in GT', _fmt(means['j_a']), _fmt(means['j_b']),
                 _signed(means['j_diff']), _fmt(means['f_a']), _fmt(means['f_b']), _signed(means['f_diff']), ''])
    return rows


def comparison_markdown(comparison: Sequence[ClassComparison], name_a: str, name_b: str,
                        header_lines: Sequence[str] = ()) -> str:
    """Markdown of a comparison: ``header_lines``, the table (:func:`comparison_cells`)."""
    parts = [f'# Per-class comparison (%): A = {name_a}, B = {name_b}', '']
    parts += [f'- {line}' for line in header_lines] + ([''] if header_lines else [])
    parts.append(markdown_table(comparison_headers(name_a, name_b), comparison_cells(comparison)))
    return '\n'.join(parts) + '\n'
