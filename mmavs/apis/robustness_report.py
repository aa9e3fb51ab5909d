"""The outputs of a robustness run (:mod:`mmavs.apis.robustness`): table rows, Markdown, JSON and the J-vs-SNR plot.

Results are ``{model name: {condition name: {metric: value %}}}`` as :func:`mmavs.apis.robustness.run_conditions`
returns them per model. The table has one row per condition (two for frame mixing: the mixed clips and all
clips) and, per model, the columns of :data:`TABLE_COLUMNS`.
"""
import json
import math
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

from mmavs.utils.stats import mean_std

from .robustness import FRAME_MIX_SCOPES, Condition

Results = Dict[str, Dict[str, Dict[str, float]]]

#: Columns of the table per model: (header, candidate metric keys; the first present is shown). ``J`` / ``F``
#: are the mmavs definitions: binary ``J_frame`` / ``F_dataset``, multiclass ``mJ_present`` / ``mF_present``.
TABLE_COLUMNS: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
    ('J_legacy', ('J_legacy', )),
    ('F_legacy', ('F_legacy', )),
    ('J', ('J_frame', 'mJ_present')),
    ('F', ('F_dataset', 'mF_present')),
    ('FPR', ('FPR', )),
    ('G_mIoU', ('G_mIoU', )),
)
NEGATIVE_COLUMNS = ('FPR', 'G_mIoU')
PLOT_FILE = 'j_vs_snr.png'


def _number(value: Optional[float]) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return '-'
    return f'{value:.2f}'


def _cell(metrics: Dict[str, float], keys: Sequence[str], prefix: str = '') -> Optional[float]:
    for key in keys:
        if prefix + key in metrics:
            return metrics[prefix + key]
    return None


def check_groups(groups: Dict[str, Sequence[str]], models: Sequence[str]) -> None:
    """Every group names at least one model, and only models that were run, each in one group at most.

    Raises:
        ValueError: Naming the group and the unknown or repeated model.
    """
    seen: Dict[str, str] = {}
    for group, members in groups.items():
        if not members:
            raise ValueError(f'group {group!r} has no model')
        for member in members:
            if member not in models:
                raise ValueError(f'group {group!r}: no model named {member!r} (models: {list(models)})')
            if member in seen:
                raise ValueError(f'model {member!r} is in groups {seen[member]!r} and {group!r}')
            seen[member] = group


def group_results(results: Results, groups: Dict[str, Sequence[str]]) -> Dict[str, Dict[str, Dict[str, list]]]:
    """Mean and sample std over the models of each group (e.g. the seeds of one config), per condition and key.

    Args:
        results (dict): ``{model: {condition: metrics}}``.
        groups (dict): ``{group: [model, ...]}`` (checked with :func:`check_groups`).

    Returns:
        dict: ``{group: {condition: {key: [mean, std, n]}}}`` for the keys all the group's models have.
    """
    check_groups(groups, list(results))
    out: Dict[str, Dict[str, Dict[str, list]]] = {}
    for group, members in groups.items():
        out[group] = {}
        for condition in results[members[0]]:
            keys = set.intersection(*(set(results[m].get(condition, {})) for m in members))
            out[group][condition] = {
                key: [*mean_std([results[m][condition][key] for m in members]), len(members)]
                for key in sorted(keys)
                if all(isinstance(results[m][condition][key], (int, float)) for m in members)
            }
    return out


def group_table_rows(grouped: Dict[str, Dict[str, Dict[str, list]]],
                     conditions: Sequence[Condition]) -> Tuple[List[str], List[List[str]]]:
    """:func:`table_rows` for :func:`group_results`: cells ``mean +- std``, columns ``<group> <column>``."""
    as_results = {g: {c: {k: v[0] for k, v in m.items()} for c, m in per.items()} for g, per in grouped.items()}
    stds = {g: {c: {k: v[1] for k, v in m.items()} for c, m in per.items()} for g, per in grouped.items()}
    header, means = table_rows(as_results, conditions)
    _, spreads = table_rows(stds, conditions)
    rows = [[row[0]] + [m if m == '-' else f'{m} +- {s}' for m, s in zip(row[1:], spread[1:])]
            for row, spread in zip(means, spreads)]
    return header, rows


def table_rows(results: Results, conditions: Sequence[Condition]) -> Tuple[List[str], List[List[str]]]:
    """Header and rows (strings, values in percent, '-' when absent) of the robustness table.

    Args:
        results (dict): ``{model: {condition: metrics}}``.
        conditions (Sequence[Condition]): The conditions run, in row order.

    Returns:
        tuple[list[str], list[list[str]]]: Header (``condition`` then ``<model> <column>``) and rows. The
        FPR / G-mIoU columns appear only when a negative-audio condition was run.
    """
    negative = any(c.suite == 'negative' for c in conditions)
    columns = [(h, keys) for h, keys in TABLE_COLUMNS if negative or h not in NEGATIVE_COLUMNS]
    models = list(results)
    header = ['condition'] + [f'{m} {h}' if len(models) > 1 else h for m in models for h, _ in columns]
    rows = []
    for condition in conditions:
        scopes = [(f' ({p})', f'{p}/') for p, _ in FRAME_MIX_SCOPES] if condition.suite == 'framemix' else [('', '')]
        for label, prefix in scopes:
            row = [condition.name + label]
            for model in models:
                metrics = results[model].get(condition.name, {})
                row += [_number(_cell(metrics, keys, prefix)) for _, keys in columns]
            rows.append(row)
    return header, rows


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown (GitHub) table; the value columns right-aligned."""
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '|'.join([' --- '] + [' ---: '] * (len(header) - 1)) + '|']
    lines += ['| ' + ' | '.join(row) + ' |' for row in rows]
    return '\n'.join(lines) + '\n'


def _json_safe(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def robustness_record(results: Results, conditions: Sequence[Condition], models: Dict[str, Dict[str, str]],
                      settings: dict) -> dict:
    """The content of ``robustness.json``: settings, the conditions, and per model its files and results.

    Args:
        results (dict): ``{model: {condition: metrics}}``.
        conditions (Sequence[Condition]): The conditions run.
        models (dict): ``{model: dict(config=..., checkpoint=...)}``.
        settings (dict): Suites, levels, seed, split, ... as run.

    Returns:
        dict: JSON-ready (nan / inf as None).
    """
    return _json_safe(
        dict(
            settings=dict(settings),
            conditions=[dict(name=c.name, suite=c.suite, level=c.level) for c in conditions],
            models={name: dict(models[name], results=results[name]) for name in results}))


def plot_j_vs_snr(results: Results, conditions: Sequence[Condition], path: str) -> Optional[str]:
    """Plot ``J_legacy`` against the SNR (and the R2-Bench severity), one line per model.

    ``clean`` is a dashed horizontal line per model, ``clean_wav`` a dotted one.

    Args:
        results (dict): ``{model: {condition: metrics}}``.
        conditions (Sequence[Condition]): The conditions run.
        path (str): Output PNG.

    Returns:
        str | None: ``path``, or None when no ``snr`` / ``r2bench`` condition was run (nothing to plot).
    """
    snr = sorted((c for c in conditions if c.suite == 'snr'), key=lambda c: c.level)
    severity = sorted((c for c in conditions if c.suite == 'r2bench'), key=lambda c: c.level)
    panels = [(p, xlabel) for p, xlabel in ((snr, 'SNR of white Gaussian noise (dB)'),
                                            (severity, 'R2-Bench severity (noise from another clip)')) if p]
    if not panels:
        return None
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(6.0 * len(panels), 4.2), squeeze=False)
    colors = plt.rcParams['axes.prop_cycle'].by_key()['color']
    for ax, (panel, xlabel) in zip(axes[0], panels):
        xs = [c.level for c in panel]
        for i, (model, per_condition) in enumerate(results.items()):
            color = colors[i % len(colors)]
            ys = [per_condition[c.name].get('J_legacy', math.nan) for c in panel]
            ax.plot(xs, ys, marker='o', color=color, label=model)
            for name, style in (('clean', '--'), ('clean_wav', ':')):
                clean = per_condition.get(name, {}).get('J_legacy')
                if clean is not None:
                    ax.axhline(clean, color=color, linestyle=style, linewidth=1.2)
        if panel[0].suite == 'snr':
            ax.invert_xaxis()  # noisier to the right
        else:
            ax.set_xticks(xs)
        ax.set_xlabel(xlabel)
        ax.set_ylabel('J legacy (%)')
        ax.ticklabel_format(axis='y', useOffset=False)
        ax.grid(alpha=0.3)
    # one legend of the models beside the panels (the line styles are explained in the title)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.suptitle('J legacy under audio noise (dashed: clean, config\'s audio loader; dotted: clean from wav)')
    fig.tight_layout()
    fig.legend(handles, labels, loc='center left', bbox_to_anchor=(1.0, 0.5), fontsize=9, title='model')
    fig.savefig(path, dpi=120, bbox_inches='tight')
    plt.close(fig)
    return path


def write_outputs(out_dir: str, record: dict, header: Sequence[str], rows: Sequence[Sequence[str]],
                  results: Results, conditions: Sequence[Condition],
                  group_table: Optional[Tuple[List[str], List[List[str]]]] = None) -> Dict[str, str]:
    """Write ``robustness.json``, ``robustness.md`` and (with noise conditions) ``j_vs_snr.png``.

    ``group_table`` (header and rows of :func:`group_table_rows`) goes first in the Markdown when given.

    Returns:
        dict[str, str]: ``json`` / ``md`` / ``png`` paths written.
    """
    os.makedirs(out_dir, exist_ok=True)
    written = dict(json=osp.join(out_dir, 'robustness.json'), md=osp.join(out_dir, 'robustness.md'))
    with open(written['json'], 'w') as f:
        json.dump(record, f, indent=2)
    with open(written['md'], 'w') as f:
        f.write('# Robustness of audio-visual segmentation (values in %)\n\n')
        if group_table is not None:
            f.write('Mean +- sample std over the models of each group:\n\n')
            f.write(markdown_table(*group_table) + '\nPer model:\n\n')
        f.write(markdown_table(header, rows))
        f.write('\nJ / F: mmavs definitions (binary J_frame / F_dataset, multiclass mJ_present / mF_present); '
                'FPR and G_mIoU for negative audio; framemix rows: (mixed) clips and (all) clips.\n')
    png = plot_j_vs_snr(results, conditions, osp.join(out_dir, PLOT_FILE))
    if png is not None:
        written['png'] = png
    return written
