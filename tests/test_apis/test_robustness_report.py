"""The robustness table, record and plot (mmavs.apis.robustness_report) on hand-made results."""
import json
import math

from mmavs.apis.robustness import build_conditions
from mmavs.apis.robustness_report import markdown_table, plot_j_vs_snr, robustness_record, table_rows


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
