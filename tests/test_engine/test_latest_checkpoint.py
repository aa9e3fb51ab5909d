"""find_resume_checkpoint: MMEngine's last_checkpoint, also after the work dir was moved."""
import os
import os.path as osp
import shutil

from mmavs.engine import find_resume_checkpoint, write_last_checkpoint


def _work_dir_with_checkpoint(root) -> str:
    work_dir = str(root / 'run')
    os.makedirs(work_dir)
    with open(osp.join(work_dir, 'epoch_4.pth'), 'wb') as f:
        f.write(b'checkpoint')
    write_last_checkpoint(work_dir, osp.join(work_dir, 'epoch_4.pth'))
    return work_dir


def test_absolute_path_as_stored(tmp_path) -> None:
    work_dir = _work_dir_with_checkpoint(tmp_path)
    assert find_resume_checkpoint(work_dir) == osp.join(work_dir, 'epoch_4.pth')


def test_moved_work_dir_is_resolved_in_the_work_dir(tmp_path) -> None:
    moved = str(tmp_path / 'elsewhere')
    shutil.move(_work_dir_with_checkpoint(tmp_path), moved)
    assert not osp.exists(str(tmp_path / 'run' / 'epoch_4.pth'))
    assert find_resume_checkpoint(moved) == osp.join(moved, 'epoch_4.pth')


def test_relative_path_is_taken_from_the_work_dir(tmp_path) -> None:
    work_dir = _work_dir_with_checkpoint(tmp_path)
    write_last_checkpoint(work_dir, 'epoch_4.pth')
    assert find_resume_checkpoint(work_dir) == osp.join(work_dir, 'epoch_4.pth')


def test_nothing_to_resume(tmp_path) -> None:
    assert find_resume_checkpoint(str(tmp_path)) is None  # no last_checkpoint
    work_dir = _work_dir_with_checkpoint(tmp_path)
    os.remove(osp.join(work_dir, 'epoch_4.pth'))
    assert find_resume_checkpoint(work_dir) is None  # it names a file that exists nowhere
