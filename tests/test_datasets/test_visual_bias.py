"""The visual-bias probe (mmavs.datasets.synthetic.visual_bias): the shortcut is where it should be.

Everything is read back with PIL / csv / json (not the mmavs readers); who sounds is checked on the written
masks (foreground area against the objects' sizes) as well as on the manifests.
"""
import csv
import filecmp
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from mmavs.datasets.synthetic import generate_avsbench
from mmavs.datasets.synthetic.visual_bias import generate_visual_bias_probe, visual_bias_roots

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def probe(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('visual_bias'))
    manifests = generate_visual_bias_probe(root, num_train=40, num_val=2, num_test=6, size=32, seed=3,
                                           shortcut_prob=0.8)
    return root, manifests


def _csv_rows(root: str):
    with open(osp.join(root, 'ms3_meta_data.csv')) as f:
        return list(csv.DictReader(f))


def _larger_sounds(entry: dict):
    """Per non-silent frame: True when the sounding object is the larger one (exactly one sounds)."""
    sizes = [obj['size'] for obj in entry['objects']]
    assert len(sizes) == 2 and max(sizes) > 1.4 * min(sizes), sizes
    out = []
    for frame in entry['sounding']:
        if any(frame):
            assert sum(frame) == 1
            out.append(frame.index(True) == int(np.argmax(sizes)))
    return out


def test_roots_and_splits(probe) -> None:
    root, _ = probe
    roots = visual_bias_roots(root)
    assert roots == {'follow': osp.join(root, 'Multi-sources'),
                     'contradict': osp.join(root, 'shortcut_contradict', 'Multi-sources')}
    follow, contradict = _csv_rows(roots['follow']), _csv_rows(roots['contradict'])
    assert [r['split'] for r in follow].count('train') == 40 and [r['split'] for r in follow].count('test') == 6
    assert {r['split'] for r in contradict} == {'test'}
    assert [r['video_id'] for r in contradict] == [r['video_id'] for r in follow if r['split'] == 'test']


def test_shortcut_strength_per_split(probe) -> None:
    _, manifests = probe
    train = [x for e in manifests['follow'] if e['split'] == 'train' for x in _larger_sounds(e)]
    assert 0.68 < np.mean(train) < 0.92 and len(train) > 120  # 0.8 +- ~3 std of a binomial share
    follow_test = [x for e in manifests['follow'] if e['split'] == 'test' for x in _larger_sounds(e)]
    contradict = [x for e in manifests['contradict'] for x in _larger_sounds(e)]
    assert follow_test and all(follow_test)
    assert contradict and not any(contradict)


def test_test_splits_share_frames_and_differ_in_ground_truth(probe) -> None:
    root, manifests = probe
    roots = visual_bias_roots(root)
    for follow, contradict in zip([e for e in manifests['follow'] if e['split'] == 'test'], manifests['contradict']):
        vid = follow['vid']
        assert contradict['vid'] == vid and contradict['objects'] == follow['objects']
        silent = [not any(f) for f in follow['sounding']]
        assert silent == [not any(f) for f in contradict['sounding']]
        for t in range(5):
            frame = f'ms3_data/visual_frames/{vid}/{vid}.mp4_{t + 1}.png'
            assert filecmp.cmp(osp.join(roots['follow'], frame), osp.join(roots['contradict'], frame), shallow=False)
            areas = []
            for name in ('follow', 'contradict'):
                mask = np.array(Image.open(osp.join(roots[name], f'ms3_data/gt_masks/test/{vid}/{vid}_{t + 1}.png')))
                areas.append(int((mask > 0).sum()))
            if silent[t]:
                assert areas == [0, 0]
            else:  # the larger object's mask is the larger one, whatever its shape
                assert areas[0] > 1.3 * areas[1] > 0


def test_plain_generation_is_unchanged_by_the_option(tmp_path) -> None:
    """Without the option nothing changes: a set written with splits=('test',) equals the full set's test."""
    full, part = str(tmp_path / 'full'), str(tmp_path / 'part')
    generate_avsbench(full, subset='ms3', num_train=2, num_val=1, num_test=2, size=32, seed=1)
    generate_avsbench(part, subset='ms3', num_train=2, num_val=1, num_test=2, size=32, seed=1, splits=('test', ))
    vids = [r['video_id'] for r in _csv_rows(osp.join(part, 'Multi-sources'))]
    assert vids == [r['video_id'] for r in _csv_rows(osp.join(full, 'Multi-sources')) if r['split'] == 'test']
    wav = f'Multi-sources/ms3_data/audio_wav/test/{vids[0]}.wav'
    assert filecmp.cmp(osp.join(full, wav), osp.join(part, wav), shallow=False)
    assert not osp.exists(osp.join(part, 'Multi-sources/ms3_data/gt_masks/train'))


@pytest.mark.parametrize('kwargs, match', [
    (dict(shortcut_prob=1.5), 'shortcut_prob'),
    (dict(shortcut_prob='0.9'), 'shortcut_prob'),
    (dict(num_test=0), 'num_test'),
])
def test_bad_probe_arguments(tmp_path, kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        generate_visual_bias_probe(str(tmp_path), num_train=1, num_val=0, size=32, **kwargs)
    assert not osp.exists(osp.join(tmp_path, 'Multi-sources'))


def test_bad_generator_arguments(tmp_path) -> None:
    with pytest.raises(ValueError, match='for subset "ms3"'):
        generate_avsbench(str(tmp_path), subset='s4', larger_sounds_prob=dict(test=1.0))
    with pytest.raises(ValueError, match='unknown splits'):
        generate_avsbench(str(tmp_path), subset='ms3', larger_sounds_prob=dict(tests=1.0))
    with pytest.raises(ValueError, match='splits must be'):
        generate_avsbench(str(tmp_path), subset='ms3', splits=('dev', ))


def test_cli_refuses_the_probe_for_other_subsets(tmp_path) -> None:
    tool = osp.join(REPO, 'tools/dataset_converters/generate_synthetic_avs.py')
    out = subprocess.run([sys.executable, tool, '--subset', 's4', '--visual-shortcut', '0.9', '--out', str(tmp_path)],
                         capture_output=True, text=True)
    assert out.returncode == 2 and '--subset ms3' in out.stderr
