"""The robustness table, record and plot (mmavs.apis.robustness_report) on hand-made results."""
import json
import math

import pytest

from mmavs.apis.robustness import build_conditions
from mmavs.apis.robustness_report import (
    check_groups,
    group_results,
    group_table_rows,
    markdown_table,
    plot_j_vs_snr,
    robustness_record,
    table_rows,
)
from mmavs.utils.stats import mean_std


def test_table_picks_the_mmavs_keys_of_each_task() -> None:
    conditions = build_conditions('negative,framemix')
    binary = dict(clean=dict(J_legacy=50.0, F_legacy=40.0, J_frame=55.0, F_dataset=45.0, J_dataset=1.0),
                  silence=dict(FPR=12.345, G_mIoU=60.0), noise=dict(FPR=math.nan), offscreen={},
                  framemix_own_gt={'mixed/J_legacy': 10.0, 'all/J_legacy': 30.0, 'mixed/J_frame': 11.0},
                  framemix_empty_gt={})
    semantic = dict(clean=dict(J_legacy=20.0, F_legacy=21.0, mJ_present=22.0, mF_present=23.0,
                               J_legacy_nobg=5.0))
    header, rows = table_rows(dict(bin=binary, sem=semantic), conditions)
    assert header == ['condition'] + [f'{m} {c}' for m in ('bin', 'sem')
                                      for c in ('J_legacy', 'F_legacy', 'J', 'F', 'FPR', 'G_mIoU')]
    by_name = {row[0]: row[1:] for row in rows}
    assert list(by_name) == ['clean', 'silence', 'noise', 'offscreen', 'framemix_own_gt (mixed)',
                             'framemix_own_gt (all)', 'framemix_empty_gt (mixed)', 'framemix_empty_gt (all)']
    assert by_name['clean'][:6] == ['50.00', '40.00', '55.00', '45.00', '-', '-']
    # multiclass: J / F are mJ_present / mF_present
    assert by_name['clean'][6:] == ['20.00', '21.00', '22.00', '23.00', '-', '-']
    assert by_name['silence'][4:6] == ['12.35', '60.00'] and by_name['noise'][4] == '-'  # nan shown as '-'
    assert by_name['framemix_own_gt (mixed)'][:3] == ['10.00', '-', '11.00']
    assert by_name['framemix_own_gt (all)'][0] == '30.00'
    # without negative audio: no FPR / G columns; one model: no model name in the header
    header, rows = table_rows(dict(m=dict(clean=binary['clean'])), build_conditions('framemix')[:1])
    assert header == ['condition', 'J_legacy', 'F_legacy', 'J', 'F'] and rows == [['clean', '50.00', '40.00',
                                                                                    '55.00', '45.00']]
    md = markdown_table(header, rows)
    assert md.splitlines() == ['| condition | J_legacy | F_legacy | J | F |', '| --- | ---: | ---: | ---: | ---: |',
                               '| clean | 50.00 | 40.00 | 55.00 | 45.00 |']


def test_record_is_strict_json() -> None:
    conditions = build_conditions('snr', snr_levels=(0, ))
    results = dict(m={c.name: dict(J_legacy=math.nan, F_legacy=1.0) for c in conditions})
    record = robustness_record(results, conditions, dict(m=dict(config='c.py', checkpoint='k.pth')), dict(seed=0))
    text = json.dumps(record, allow_nan=False)
    assert json.loads(text)['models']['m'] == dict(config='c.py', checkpoint='k.pth', results={
        c.name: dict(J_legacy=None, F_legacy=1.0) for c in conditions})
    assert [c['level'] for c in record['conditions']] == [None, 'wav', 0.0]


def test_plot_only_with_noise_conditions(tmp_path) -> None:
    assert plot_j_vs_snr(dict(m=dict(clean=dict(J_legacy=1.0))), build_conditions('negative'),
                         str(tmp_path / 'p.png')) is None
    assert not (tmp_path / 'p.png').exists()


def test_groups_are_mean_and_sample_std_of_their_models() -> None:
    conditions = build_conditions('negative')
    results = dict(
        a0=dict(clean=dict(J_legacy=70.0, F_legacy=80.0), silence=dict(FPR=2.0)),
        a1=dict(clean=dict(J_legacy=74.0, F_legacy=82.0), silence=dict(FPR=4.0)),
        b0=dict(clean=dict(J_legacy=60.0), silence=dict(FPR=math.nan)))
    grouped = group_results(results, dict(a=['a0', 'a1'], b=['b0']))
    # a: J 72 +- sqrt(((70-72)^2 + (74-72)^2) / 1) = sqrt(8); b: one model, std 0; b's FPR nan -> nan
    assert grouped['a']['clean']['J_legacy'] == pytest.approx([72.0, math.sqrt(8.0), 2])
    assert grouped['a']['silence']['FPR'] == pytest.approx([3.0, math.sqrt(2.0), 2])
    assert grouped['b']['clean'] == dict(J_legacy=[60.0, 0.0, 1])
    assert math.isnan(grouped['b']['silence']['FPR'][0])
    header, rows = group_table_rows(grouped, conditions)
    assert header[:3] == ['condition', 'a J_legacy', 'a F_legacy']
    clean = dict(zip(header, rows[0]))
    assert clean['a J_legacy'] == f'72.00 +- {math.sqrt(8.0):.2f}' and clean['b F_legacy'] == '-'
    assert dict(zip(header, rows[1]))['a FPR'] == f'3.00 +- {math.sqrt(2.0):.2f}'


@pytest.mark.parametrize('groups, match', [
    (dict(a=['a0', 'zz']), "no model named 'zz'"),
    (dict(a=['a0'], b=['a0']), "is in groups 'a' and 'b'"),
    (dict(a=[]), 'has no model'),
])
def test_bad_groups(groups, match) -> None:
    with pytest.raises(ValueError, match=match):
        check_groups(groups, ['a0', 'a1'])


def test_mean_std_skips_missing_values() -> None:
    assert mean_std([1.0, None, 3.0, math.inf]) == (2.0, pytest.approx(math.sqrt(2.0)))
    assert all(math.isnan(v) for v in mean_std([None, math.nan]))
