"""tools/test.py --out-dir and tools/analysis_tools/compare_metrics.py --per-class.

A random-init tiny AVSS model is evaluated on the generated AVSS set; the per-class table's means are checked
against the keys AVSMetric wrote to metrics.json, its classes in GT against the split's own ground truth.
The comparison is checked on two hand-written tables with hand-computed differences.
"""
import glob
import importlib.util
import json
import os.path as osp
from typing import Dict

import pytest
import torch
from mmengine.config import Config

from mmavs.apis.split_data import build_split_dataset
from mmavs.evaluation.per_class import METRIC_OF_COLUMN, per_class_summary, read_per_class_csv
from mmavs.utils import register_all_modules

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
AVSS_CFG = 'configs/baseline/baseline_tiny_synthetic_avss.py'
S4_CFG = 'configs/baseline/baseline_tiny_synthetic_s4.py'


def _tool(name: str, path: str):
    spec = importlib.util.spec_from_file_location(name, osp.join(REPO, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TEST_TOOL = _tool('_test_tool_out_dir', 'tools/test.py')
COMPARE = _tool('_compare_metrics_tool', 'tools/analysis_tools/compare_metrics.py')


def opts(data_root: str):
    return ['--cfg-options', f'test_dataloader.dataset.data_root={data_root}', 'test_dataloader.num_workers=0',
            'test_dataloader.persistent_workers=False']


def classes_in_test_gt(data_root: str) -> set:
    """Labels of the test split's frames with GT, read through the config's dataset (what the metric scores)."""
    register_all_modules()
    cfg = Config.fromfile(osp.join(REPO, AVSS_CFG))
    dataset = build_split_dataset(cfg, data_root=data_root)
    labels = set()
    for i in range(len(dataset)):
        sample = dataset[i]['data_samples']
        labels |= set(torch.unique(sample.gt_masks[sample.gt_flags]).tolist())
    return labels - {255}


@pytest.fixture(scope='module')
def avss_run(tmp_path_factory, avss_root, untrained_checkpoint) -> Dict[str, str]:
    """tools/test.py of a random tiny AVSS model with two AVSMetric (second: prefix 'real', no padded frames)."""
    work = str(tmp_path_factory.mktemp('out_dir_avss'))
    cfg = osp.join(work, 'two_metrics.py')
    with open(cfg, 'w') as f:
        f.write(f"_base_ = [{osp.join(REPO, AVSS_CFG)!r}]\n"
                "test_evaluator = [dict(type='AVSMetric', num_classes=71),\n"
                "                  dict(type='AVSMetric', num_classes=71, prefix='real',\n"
                "                       legacy_padded_frames=False)]\n")
    ckpt = untrained_checkpoint(AVSS_CFG)
    out_dir = osp.join(work, 'results')
    TEST_TOOL.main([cfg, ckpt, '--work-dir', osp.join(work, 'w'), '--out', osp.join(work, 'out.json'),
                    '--out-dir', out_dir, *opts(avss_root)])
    return dict(work=work, out_dir=out_dir, cfg=cfg, ckpt=ckpt)


def test_out_dir_metrics_json_is_that_of_out(avss_run):
    with open(osp.join(avss_run['out_dir'], 'metrics.json')) as f, open(osp.join(avss_run['work'], 'out.json')) as g:
        assert json.load(f) == json.load(g)


@pytest.mark.parametrize('stem,prefix', [('per_class', 'avs'), ('per_class_real', 'real')])
def test_per_class_means_equal_the_metric_keys(avss_run, stem, prefix):
    with open(osp.join(avss_run['out_dir'], 'metrics.json')) as f:
        metrics = json.load(f)
    rows = read_per_class_csv(osp.join(avss_run['out_dir'], f'{stem}.csv'))
    assert len(rows) == 71 and rows[0].name == 'background'
    summary = per_class_summary(rows)
    for column, (selection, key) in METRIC_OF_COLUMN.items():
        # the CSV keeps 6 decimals
        assert summary[selection][column].value == pytest.approx(metrics[f'{prefix}/{key}'], abs=1e-5), column


def test_classes_in_gt_and_markdown_header(avss_run, avss_root):
    rows = read_per_class_csv(osp.join(avss_run['out_dir'], 'per_class.csv'))
    present = classes_in_test_gt(avss_root)
    assert 1 < len(present) < 71
    assert {r.index for r in rows if r.in_gt} == present
    assert all((r.frames_in_gt > 0) == r.in_gt for r in rows)
    with open(osp.join(avss_run['out_dir'], 'per_class.md')) as f:
        text = f.read()
    for line in (f'- config: {avss_run["cfg"]}', f'- checkpoint: {avss_run["ckpt"]}', '- split: test',
                 f'- classes in GT: {len(present)} of 71'):
        assert line in text
    assert f'({len(present)} of 71) | ' in text and 'mJ_present (classes in GT)' in text
    with open(osp.join(avss_run['out_dir'], 'per_class_real.md')) as f:
        assert '- metric prefix: real' in f.read()


def test_binary_task_writes_metrics_only(tmp_path, s4_root, untrained_checkpoint):
    out_dir = str(tmp_path / 'results')
    metrics = TEST_TOOL.main([osp.join(REPO, S4_CFG), untrained_checkpoint(S4_CFG), '--work-dir',
                              str(tmp_path / 'w'), '--out-dir', out_dir, *opts(s4_root)])
    assert sorted(glob.glob(osp.join(out_dir, '*'))) == [osp.join(out_dir, 'metrics.json')]
    with open(osp.join(out_dir, 'metrics.json')) as f:
        assert json.load(f) == pytest.approx(metrics)
    logs = glob.glob(str(tmp_path / 'w' / '*' / '*.log'))
    assert logs and any('per-class tables are written for multiclass' in open(p).read() for p in logs)


def test_unwritable_out_dir_stops_before_the_run(tmp_path, avss_root):
    blocker = tmp_path / 'file'
    blocker.write_text('')
    with pytest.raises(SystemExit) as info:
        TEST_TOOL.main([osp.join(REPO, AVSS_CFG), 'no_such.pth', '--work-dir', str(tmp_path / 'w'), '--out-dir',
                        str(blocker / 'results'), *opts(avss_root)])
    # the checkpoint (which does not exist) was never read: the check comes first
    assert '--out-dir directory' in str(info.value) and str(blocker) in str(info.value)


# ----------------------------------------------------------------------------- compare_metrics --per-class
HEADER = 'index,name,J_legacy,F_legacy,frames,J_gt,F_gt,gt_frames,frames_in_gt,IoU_pooled,FDR,in_gt\n'
#: J_gt / F_gt of A and B (legacy columns differ on purpose: --score legacy must read those).
TABLE_A = HEADER + ('0,background,1,2,9,80,90,9,9,80,10,yes\n'
                    '1,dog,3,4,5,20,30,5,5,20,50,yes\n'
                    '2,cat,5,6,4,60,70,4,4,60,20,yes\n'
                    '3,owl,0,0,0,0,0,0,0,nan,nan,no\n')
TABLE_B = HEADER + ('0,background,2,2,9,82,91,9,9,82,10,yes\n'
                    '1,dog,13,4,5,50,25,5,5,50,40,yes\n'
                    '2,cat,0,6,4,40,75,4,4,40,20,yes\n'
                    '3,owl,7,0,1,0,0,1,0,0,100,no\n')


@pytest.fixture
def two_tables(tmp_path):
    a = tmp_path / 'a.csv'
    a.write_text(TABLE_A)
    (tmp_path / 'run_b').mkdir()
    b = tmp_path / 'run_b' / 'per_class.csv'
    b.write_text(TABLE_B)
    return str(a), str(b)


def markdown_rows(path: str):
    with open(path) as f:
        lines = [line for line in f.read().splitlines() if line.startswith('| ')]
    return [[cell.strip() for cell in line.strip('|').split('|')] for line in lines[1:]]  # without the header


def test_per_class_comparison_by_hand(two_tables, tmp_path, capsys):
    a, b = two_tables
    out = str(tmp_path / 'cmp.md')
    COMPARE.main(['--per-class', f'base={a}', f'icf={osp.dirname(b)}', '--out', out])
    rows = markdown_rows(out)
    # J_gt differences B - A: background +2, dog +30, cat -20; owl absent from both GTs: last, marked
    assert [r[0] for r in rows] == ['dog', 'background', 'cat', 'owl (not in GT)', 'mean over 3 of 4 classes in GT']
    assert rows[0] == ['dog', '20.00', '50.00', '+30.00', '30.00', '25.00', '-5.00', '5']
    assert rows[2] == ['cat', '60.00', '40.00', '-20.00', '70.00', '75.00', '+5.00', '4']
    # means over background, dog, cat: J A 160/3, J B 172/3, diff +4; F A 190/3, F B 191/3, diff +1/3
    assert rows[4][1:7] == ['53.33', '57.33', '+4.00', '63.33', '63.67', '+0.33']
    assert 'J base' in capsys.readouterr().out


def test_per_class_comparison_sorted_by_name_and_legacy_scores(two_tables, tmp_path):
    a, b = two_tables
    out = str(tmp_path / 'cmp.md')
    COMPARE.main(['--per-class', f'A={a}', f'B={b}', '--sort', 'name', '--score', 'legacy', '--out', out])
    rows = markdown_rows(out)
    assert [r[0] for r in rows[:4]] == ['background', 'cat', 'dog', 'owl (not in GT)']
    assert rows[1][1:4] == ['5.00', '0.00', '-5.00'] and rows[2][1:4] == ['3.00', '13.00', '+10.00']
    assert rows[3][-1] == '0'  # owl: in the GT of neither


def test_per_class_comparison_of_different_classes_names_both_files(two_tables, tmp_path):
    a, _ = two_tables
    other = tmp_path / 'other.csv'
    other.write_text(TABLE_B.replace(',dog,', ',horse,'))
    with pytest.raises(ValueError) as info:
        COMPARE.main(['--per-class', f'A={a}', f'B={other}'])
    assert a in str(info.value) and str(other) in str(info.value) and "'dog' vs 'horse'" in str(info.value)


def test_metrics_json_mode_is_kept_and_modes_are_exclusive(tmp_path, two_tables, capsys):
    path = tmp_path / 'm.json'
    path.write_text(json.dumps({'avs/J_legacy': 12.345}))
    COMPARE.main([f'run={path}'])
    assert '12.35' in capsys.readouterr().out
    with pytest.raises(SystemExit):
        COMPARE.main([f'run={path}', '--per-class', *two_tables])
    with pytest.raises(SystemExit):
        COMPARE.main([f'run={path}', '--out', str(tmp_path / 'x.md')])
