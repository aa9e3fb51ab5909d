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
