"""Start-up checks of the work dir: not writable (read-only, full, not a directory), too little space.

These run as root here, where chmod cannot make a directory read-only: read-only and full file systems
are simulated by making the probe write fail with EROFS, or write to /dev/full (a real ENOSPC).
"""
import errno
import os.path as osp
from collections import namedtuple

import pytest
import torch.nn as nn

import mmavs.utils.work_dir as work_dir_module
from mmavs.utils.work_dir import WorkDirError, check_checkpoint_space, check_dir_writable, estimate_checkpoint_bytes


def test_writable_dir_is_created_and_left_clean(tmp_path) -> None:
    path = str(tmp_path / 'a' / 'b')
    assert check_dir_writable(path) == path
    assert osp.isdir(path) and not list((tmp_path / 'a' / 'b').iterdir())


def test_path_under_a_regular_file(tmp_path) -> None:
    (tmp_path / 'file').write_text('x')
    path = str(tmp_path / 'file' / 'work')
    with pytest.raises(WorkDirError, match='not a directory') as info:
        check_dir_writable(path)
    assert path in str(info.value)


def _write_to_dev_full(directory: str) -> None:
    with open('/dev/full', 'wb') as f:
        f.write(b'\0' * work_dir_module.PROBE_BYTES)
        f.flush()


@pytest.mark.skipif(not osp.exists('/dev/full'), reason='needs /dev/full')
def test_full_file_system(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(work_dir_module, '_write_probe', _write_to_dev_full)
    with pytest.raises(WorkDirError, match='no space left') as info:
        check_dir_writable(str(tmp_path), what='directory of --out')
    assert f'directory of --out {tmp_path}' in str(info.value) and 'ENOSPC' in str(info.value)


def test_read_only_file_system(tmp_path, monkeypatch) -> None:
    def read_only(directory):
        raise OSError(errno.EROFS, 'Read-only file system', directory)

    monkeypatch.setattr(work_dir_module, '_write_probe', read_only)
    with pytest.raises(WorkDirError, match='read-only') as info:
        check_dir_writable(str(tmp_path))
    assert str(tmp_path) in str(info.value)


def test_checkpoint_estimate_counts_weights_and_optimizer_moments() -> None:
    model = nn.Sequential(nn.Linear(10, 10), nn.BatchNorm1d(10), nn.Linear(10, 1))
    model[2].requires_grad_(False)
    weights = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    trainable = (110 + 20) * 4  # first Linear and BatchNorm affine, float32
    assert estimate_checkpoint_bytes(model, None) == weights
    assert estimate_checkpoint_bytes(model, 'AdamW') == weights + 2 * trainable
    assert estimate_checkpoint_bytes(model, 'SGD') == weights + trainable


def test_too_little_free_space(tmp_path, monkeypatch) -> None:
    usage = namedtuple('usage', 'total used free')
    monkeypatch.setattr(work_dir_module.shutil, 'disk_usage', lambda p: usage(100 << 20, 99 << 20, 1 << 20))
    check_checkpoint_space(str(tmp_path), 512 << 10)  # 0.5 MiB fits in 1 MiB
    with pytest.raises(WorkDirError, match='Not enough free space') as info:
        check_checkpoint_space(str(tmp_path), 2 << 20)
    assert str(tmp_path) in str(info.value) and '1.0 MiB free' in str(info.value)
