"""Tests of tools/analysis_tools/ablation_table.py (the ablation summary of tools/misc/run_ablation.sh)."""
import json
import os.path as osp
import statistics
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(REPO, 'tools', 'analysis_tools'))
import ablation_table  # noqa: E402


def _run(tmp_path, name: str, j: float, f: float, j_shuf: float, f_shuf: float, prefix: str = 'avs/') -> str:
    run = tmp_path / name
    run.mkdir()
    (run / 'metrics.json').write_text(json.dumps({f'{prefix}J_legacy': j, f'{prefix}F_legacy': f, 'other': 1}))
    (run / 'metrics_shuffled.json').write_text(json.dumps({f'{prefix}J_legacy': j_shuf, f'{prefix}F_legacy': f_shuf}))
    return str(run)


def test_rows_are_mean_and_sample_std_over_seeds(tmp_path, capsys) -> None:
    a0 = _run(tmp_path, 'a0', 60., 70., 40., 45.)
    a1 = _run(tmp_path, 'a1', 64., 72., 30., 35., prefix='')  # keys without the avs/ prefix are read too
    b0 = _run(tmp_path, 'b0', 50., 55., 49., 54.)
    out = tmp_path / 'table.md'
    ablation_table.main([f'base={a0}', f'full={b0}', f'base={a1}', '--out', str(out)])
    printed = capsys.readouterr().out
    assert printed == out.read_text()
    lines = printed.strip().splitlines()
    assert lines[0].startswith('| run | seeds | J | F | J shuffled audio | F shuffled audio | audio gap')
    base, full = lines[2], lines[3]  # order of first appearance
    assert base.startswith('| base | 2 |') and full.startswith('| full | 1 |')
    std_j = statistics.stdev([60., 64.])
    assert f'62.00 +- {std_j:.2f}' in base
    assert f'35.00 +- {statistics.stdev([40., 30.]):.2f}' in base
    gap = statistics.stdev([20., 34.])
    assert base.rstrip(' |').endswith(f'27.00 +- {gap:.2f}')
    assert '50.00 +- 0.00' in full and full.rstrip(' |').endswith('1.00 +- 0.00')
    # comparison with the first row: full J 50 vs base {60, 64}: of the 3 ways to pick one run of the pool
    # {60, 64, 50} as "full", only the observed one has |mean difference| >= 12 -> p = 1/3; F 55 vs {70, 72}
    comparison = printed.strip().split('\n\n')[1].splitlines()
    assert comparison[0] == '| run | seeds | J - J(base) | p (J) | F - F(base) | p (F) |'
    assert comparison[2] == '| full | 1 | -12.00 | 0.333 | -16.00 | 0.333 |'
    assert len(comparison) == 3  # the reference itself is not compared


def test_permutation_p_value_counts_splits_at_least_as_extreme() -> None:
    # {1,2,3} vs {4,5,6}: of the C(6,3) = 20 splits only this one and its mirror have |difference| >= 3
    assert ablation_table.permutation_p_value([1., 2., 3.], [4., 5., 6.]) == pytest.approx(2 / 20)
    # unequal sizes: {10,11,12} vs {0,1} is the single most extreme of the C(5,3) = 10 splits
    assert ablation_table.permutation_p_value([10., 11., 12.], [0., 1.]) == pytest.approx(1 / 10)
    assert ablation_table.permutation_p_value([1., 2.], [2., 1.]) == 1.
    with pytest.raises(ValueError, match='at least one run'):
        ablation_table.permutation_p_value([], [1.])
    with pytest.raises(ValueError, match='at most 20 runs'):
        ablation_table.permutation_p_value([0.] * 11, [1.] * 10)


def test_reference_row_is_chosen_by_name(tmp_path, capsys) -> None:
    a = _run(tmp_path, 'a', 60., 70., 40., 45.)
    b = _run(tmp_path, 'b', 66., 71., 40., 45.)
    ablation_table.main([f'base={a}', f'new={b}', '--reference', 'new'])
    comparison = capsys.readouterr().out.strip().split('\n\n')[1].splitlines()
    assert comparison[2] == '| base | 1 | -6.00 | 1.000 | -1.00 | 1.000 |'
    with pytest.raises(ValueError, match="--reference 'nope' is not a row"):
        ablation_table.main([f'base={a}', f'new={b}', '--reference', 'nope'])


def test_missing_or_bad_metric_files_name_the_file(tmp_path) -> None:
    run = _run(tmp_path, 'r', 1., 2., 3., 4.)
    (tmp_path / 'r' / 'metrics_shuffled.json').unlink()
    with pytest.raises(FileNotFoundError, match='metrics_shuffled.json'):
        ablation_table.collect([f'x={run}'])
    (tmp_path / 'r' / 'metrics_shuffled.json').write_text('{"avs/F_legacy": 3}')
    with pytest.raises(ValueError, match=r"metrics_shuffled.json has no numeric 'J_legacy'"):
        ablation_table.collect([f'x={run}'])
    (tmp_path / 'r' / 'metrics_shuffled.json').write_text('not json')
    with pytest.raises(ValueError, match='not valid JSON'):
        ablation_table.collect([f'x={run}'])
    with pytest.raises(ValueError, match='NAME=RUN_DIR'):
        ablation_table.collect([run])


def _probe_run(tmp_path, name: str, j: float, j_contra: float) -> str:
    run = _run(tmp_path, name, j, j + 5., 30., 31.)
    (tmp_path / name / 'metrics_contradict.json').write_text(json.dumps({'avs/J_legacy': j_contra,
                                                                        'avs/F_legacy': j_contra + 1.}))
    return run


def test_visual_bias_runs_add_the_contradicting_columns(tmp_path, capsys) -> None:
    specs = [f'base={_probe_run(tmp_path, "b0", 80., 20.)}', f'base={_probe_run(tmp_path, "b1", 82., 30.)}',
             f'icf={_probe_run(tmp_path, "i0", 78., 60.)}']
    ablation_table.main(specs)
    table, comparison = capsys.readouterr().out.strip().split('\n\n')
    lines = table.splitlines()
    assert lines[0].endswith('| J contradicting | F contradicting | audio gap (J - J shuffled) | '
                             'shortcut gap (J - J contradicting) |')
    assert lines[2].startswith('| base | 2 |') and '25.00 +- 7.07' in lines[2]  # J contradicting of 20, 30
    assert lines[2].rstrip(' |').endswith(f'56.00 +- {statistics.stdev([60., 52.]):.2f}')
    rows = comparison.splitlines()
    assert rows[0].endswith('| J contradicting - J contradicting(base) | p (J contradicting) |')
    # icf 60 vs base {20, 30}: +35; of the 3 splits of {20, 30, 60} only the observed one is as extreme
    assert rows[2].endswith('| +35.00 | 0.333 |')


def test_runs_with_and_without_the_probe_file_are_refused(tmp_path) -> None:
    specs = [f'a={_probe_run(tmp_path, "p0", 80., 20.)}', f'b={_run(tmp_path, "plain", 70., 75., 30., 31.)}']
    with pytest.raises(ValueError, match='metrics_contradict.json and these do not'):
        ablation_table.collect(specs)
