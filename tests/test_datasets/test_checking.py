"""The dataset checker reports exactly the faults written into small official-layout copies, and nothing on
clean ones."""
import csv
import os
import os.path as osp
import pickle
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from mmavs.datasets.checking import check_dataset, detect_subset
from mmavs.datasets.synthetic import generate_avsbench

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'dataset_converters', 'check_avsbench.py')
ROOTS = {'s4': 'Single-source', 'ms3': 'Multi-sources', 'avss': ''}


@pytest.fixture(scope='module')
def clean_copies(tmp_path_factory):
    """Clean generated copies of the three subsets (3 train, 2 val, 2 test clips, 32x32 / small)."""
    base = tmp_path_factory.mktemp('clean')
    roots = {}
    for subset in ROOTS:
        generate_avsbench(str(base / subset), subset=subset, num_train=3, num_val=2, num_test=2, size=32, seed=1)
        roots[subset] = osp.join(str(base / subset), ROOTS[subset])
    return roots


@pytest.fixture
def copy_of(clean_copies, tmp_path):
    def make(subset: str) -> str:
        target = str(tmp_path / subset)
        shutil.copytree(clean_copies[subset], target)
        return target
    return make


def _rows(csv_path):
    with open(csv_path, newline='') as f:
        return list(csv.reader(f))


def _s4_clip(root, split):
    """(vid, category) of the first S4 clip of a split."""
    for row in _rows(osp.join(root, 's4_meta_data.csv'))[1:]:
        if row[3] == split:
            return row[0], row[2]
    raise AssertionError(split)


def _errors(report):
    return {(p.kind, p.path) for p in report.problems if p.severity == 'error'}


@pytest.mark.parametrize('subset', list(ROOTS))
def test_a_clean_copy_passes(clean_copies, subset):
    report = check_dataset(clean_copies[subset])
    assert report.subset == subset
    assert report.problems == []
    assert [(c.split, c.metadata, c.clean) for c in report.counts] == [('train', 3, 3), ('val', 2, 2), ('test', 2, 2)]
    assert not report.failed(strict=True)


def test_s4_faults_are_reported_exactly(copy_of):
    root = copy_of('s4')
    data = osp.join(root, 's4_data')
    vid, cat = _s4_clip(root, 'val')
    missing_frame = osp.join(data, 'visual_frames', 'val', cat, vid, f'{vid}_3.png')
    os.remove(missing_frame)
    vid_t, cat_t = _s4_clip(root, 'test')
    truncated = osp.join(data, 'visual_frames', 'test', cat_t, vid_t, f'{vid_t}_2.png')
    with open(truncated, 'rb') as f:
        content = f.read()
    with open(truncated, 'wb') as f:
        f.write(content[:len(content) // 2])
    vid_tr, cat_tr = _s4_clip(root, 'train')
    bad_pkl = osp.join(data, 'audio_log_mel', 'train', cat_tr, f'{vid_tr}.pkl')
    with open(bad_pkl, 'wb') as f:
        pickle.dump(torch.zeros(4, 1, 96, 64), f)
    with open(osp.join(root, 's4_meta_data.csv'), 'a', newline='') as f:
        csv.writer(f).writerow(['ghost_clip', '0', cat, 'test'])

    report = check_dataset(root)
    errors = _errors(report)
    assert ('missing_file', missing_frame) in errors
    assert ('unreadable_image', truncated) in errors
    assert ('log_mel_shape', bad_pkl) in errors
    # the row without files: every frame, mask and audio file of that clip, and no other clip
    ghost = {p for p in report.problems if p.clip == 'ghost_clip'}
    assert {p.kind for p in ghost} == {'missing_file', 'missing_audio'}
    assert len([p for p in ghost if p.kind == 'missing_file']) == 10  # 5 frames + 5 masks (test split)
    others = {(k, p) for k, p in errors if 'ghost_clip' not in p}
    assert others == {('missing_file', missing_frame), ('unreadable_image', truncated), ('log_mel_shape', bad_pkl)}
    assert [(c.split, c.metadata, c.clean) for c in report.counts] == [('train', 3, 2), ('val', 2, 1), ('test', 3, 1)]


def test_a_mask_of_another_size_and_a_grey_mask(copy_of):
    root = copy_of('ms3')
    vid = next(r[0] for r in _rows(osp.join(root, 'ms3_meta_data.csv'))[1:] if r[1] == 'val')
    masks = osp.join(root, 'ms3_data', 'gt_masks', 'val', vid)
    wrong_size = osp.join(masks, f'{vid}_2.png')
    Image.new('L', (40, 32)).save(wrong_size)
    grey = osp.join(masks, f'{vid}_4.png')
    values = np.zeros((32, 32), np.uint8)
    values[:16] = 255
    values[16:20] = 90
    Image.fromarray(values, 'L').save(grey)

    report = check_dataset(root)
    assert _errors(report) == {('mask_size', wrong_size)}
    (warning, ) = [p for p in report.problems if p.severity == 'warning']
    assert (warning.kind, warning.path) == ('not_two_level', grey)
    assert '90' in warning.message and "'legacy_ms3'" in warning.message
    Image.new('L', (32, 32)).save(wrong_size)  # repaired: only the warning is left
    report = check_dataset(root)
    assert [p.kind for p in report.problems] == ['not_two_level']
    assert not report.failed() and report.failed(strict=True)


def test_avss_off_palette_colour_and_mask_count(copy_of):
    root = copy_of('avss')
    rows = _rows(osp.join(root, 'metadata.csv'))
    header = rows[0]
    col = {name: header.index(name) for name in header}
    val = next(r for r in rows[1:] if r[col['split']] == 'val')
    clip = osp.join(root, val[col['label']], val[col['uid']])
    off_palette = osp.join(clip, 'labels_rgb', '1.png')
    with Image.open(off_palette) as img:
        rgb = np.array(img.convert('RGB'))
    rgb[0, 0] = (1, 2, 3)
    Image.fromarray(rgb, 'RGB').save(off_palette)
    test = next(r for r in rows[1:] if r[col['split']] == 'test')
    labels = osp.join(root, test[col['label']], test[col['uid']], 'labels_rgb')
    last = sorted(os.listdir(labels), key=lambda n: int(n.split('.')[0]))[-1]
    os.remove(osp.join(labels, last))

    report = check_dataset(root)
    errors = _errors(report)
    assert ('off_palette', off_palette) in errors
    assert ('mask_count', labels) in errors or ('missing_file', osp.join(labels, last)) in errors
    assert {p.clip for p in report.problems} == {val[col['uid']], test[col['uid']]}
    (off, ) = [p for p in report.problems if p.kind == 'off_palette']
    assert '(1, 2, 3)' in off.message


def test_a_pickle_with_code_is_refused_not_run(copy_of, tmp_path):
    root = copy_of('s4')
    vid, cat = _s4_clip(root, 'test')
    pkl = osp.join(root, 's4_data', 'audio_log_mel', 'test', cat, f'{vid}.pkl')
    marker = str(tmp_path / 'executed')
    with open(pkl, 'wb') as f:
        pickle.dump({'x': _MakesDir(marker)}, f)
    report = check_dataset(root)
    assert _errors(report) == {('unreadable_audio', pkl)}
    assert not osp.exists(marker)


class _MakesDir:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return os.mkdir, (self.path, )


def test_invalid_split_value_and_duplicate_row(copy_of):
    root = copy_of('ms3')
    path = osp.join(root, 'ms3_meta_data.csv')
    rows = _rows(path)
    rows[1][1] = 'Test'
    rows.append(list(rows[2]))
    with open(path, 'w', newline='') as f:
        csv.writer(f).writerows(rows)
    report = check_dataset(root)
    kinds = sorted((p.kind, p.message.split(':')[0], p.clip) for p in report.problems)
    # the row with 'Test' is read by no split, so its clip folder is also reported as not listed
    assert kinds == [('duplicate', f'line {len(rows)}', rows[2][0]), ('metadata', 'line 2', ''),
                     ('not_in_metadata', f'clip folder of "{rows[1][0]}" is not listed in the metadata csv '
                      '(no split reads it)', rows[1][0])]


def test_subset_is_recognised_and_a_root_one_level_too_high_is_named(clean_copies):
    assert detect_subset(clean_copies['s4']) == 's4'
    with pytest.raises(FileNotFoundError, match='one level too high.*Single-source.*s4'):
        detect_subset(osp.dirname(clean_copies['s4']))


def test_workers_give_the_same_report(copy_of):
    root = copy_of('s4')
    vid, cat = _s4_clip(root, 'val')
    os.remove(osp.join(root, 's4_data', 'audio_wav', 'val', cat, f'{vid}.wav'))
    one = check_dataset(root, workers=1)
    two = check_dataset(root, workers=2)
    assert one.problems == two.problems and len(one.problems) == 1
    assert one.problems[0].kind == 'missing_file' and one.problems[0].path.endswith(f'{vid}.wav')


def test_command_exit_codes_and_fix_report(copy_of, clean_copies, tmp_path):
    run = [sys.executable, TOOL]
    ok = subprocess.run(run + [clean_copies['ms3']], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert 'metadata rows' in ok.stdout and '0 error(s)' in ok.stdout

    high = subprocess.run(run + [osp.dirname(clean_copies['s4'])], capture_output=True, text=True)
    assert high.returncode == 2 and 'one level too high' in high.stdout

    root = copy_of('s4')
    vid, cat = _s4_clip(root, 'test')
    frame = osp.join(root, 's4_data', 'visual_frames', 'test', cat, vid, f'{vid}_5.png')
    os.remove(frame)
    report_csv = str(tmp_path / 'problems.csv')
    bad = subprocess.run(run + [root, '--fix-report', report_csv], capture_output=True, text=True)
    assert bad.returncode == 1
    assert frame in bad.stdout.replace('\n', '')
    rows = _rows(report_csv)
    assert rows[0] == ['severity', 'kind', 'split', 'clip', 'path', 'message']
    assert [r[:5] for r in rows[1:]] == [['error', 'missing_file', 'test', vid, frame]]


def test_an_unlabeled_copy_is_checked_without_masks(copy_of):
    root = copy_of('ms3')
    shutil.rmtree(osp.join(root, 'ms3_data', 'gt_masks'))
    labeled = check_dataset(root)
    assert {p.kind for p in labeled.problems} == {'missing_file'} and len(labeled.problems) == 7 * 5
    assert any('--without-gt' in note for note in labeled.notes)
    unlabeled = check_dataset(root, with_gt=False)
    assert unlabeled.problems == [] and [c.clean for c in unlabeled.counts] == [3, 2, 2]


def test_a_listed_clip_whose_folder_cannot_be_read_is_not_also_called_unlisted(copy_of):
    root = copy_of('avss')
    rows = _rows(osp.join(root, 'metadata.csv'))
    col = {name: rows[0].index(name) for name in rows[0]}
    row = next(r for r in rows[1:] if r[col['split']] == 'test')
    frames = osp.join(root, row[col['label']], row[col['uid']], 'frames')
    os.remove(osp.join(frames, '1.jpg'))  # a gap: the reader refuses the clip
    report = check_dataset(root)
    assert [(p.kind, p.clip) for p in report.problems] == [('clip_files', row[col['uid']])]
