"""Atomic checkpoint files and AtomicCheckpointHook: a failed or killed save keeps the previous checkpoint.

Failures are simulated in process (``torch.save`` or ``os.replace`` raising) on a toy Runner; the real
``kill`` in the middle of writing a checkpoint is
``tests/test_tools/test_train_test_tools.py::test_kill_while_writing_a_checkpoint_keeps_the_previous_one``.
"""
import glob
import hashlib
import os
import os.path as osp

import pytest
import torch
from mmengine import DefaultScope
from mmengine.config import Config
from mmengine.hooks import CheckpointHook

import mmavs.engine.atomic_file as atomic_file
from mmavs.engine import AtomicCheckpointHook, atomic_write, remove_stale_temp_files
from mmavs.registry import HOOKS
from mmavs.utils import register_all_modules

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
NO_RNG = dict(rng_state=None)  # these tests exercise the checkpoint hook alone
#: Every config a user trains with, and the runtime they all inherit.
CONFIGS = sorted(
    osp.relpath(p, REPO) for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in p) + ['configs/_base_/default_runtime.py']


def _sha(path: str) -> str:
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def _last_checkpoint(work_dir: str) -> str:
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read().strip()


def test_atomic_write_replaces_the_whole_file(tmp_path) -> None:
    path = str(tmp_path / 'sub' / 'f.bin')
    atomic_write(path, b'old')
    atomic_write(path, b'new content')
    with open(path, 'rb') as f:
        assert f.read() == b'new content'
    assert os.listdir(osp.dirname(path)) == ['f.bin']  # no temporary file left
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask  # as open(path, 'wb') would create it


def test_failed_atomic_write_keeps_the_old_file(tmp_path, monkeypatch) -> None:
    path = str(tmp_path / 'f.bin')
    atomic_write(path, b'old')

    def fail(*args, **kwargs):
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(atomic_file.os, 'fsync', fail)  # after the bytes went to the temporary file
    with pytest.raises(OSError):
        atomic_write(path, b'new' * 1000)
    with open(path, 'rb') as f:
        assert f.read() == b'old'
    assert os.listdir(str(tmp_path)) == ['f.bin']


def test_remove_stale_temp_files(tmp_path) -> None:
    stale = tmp_path / '.epoch_2.pth.abc123.mmavs-tmp'
    stale.write_bytes(b'partial')
    (tmp_path / 'epoch_1.pth').write_bytes(b'complete')
    assert remove_stale_temp_files(str(tmp_path)) == [str(stale)]
    assert sorted(os.listdir(str(tmp_path))) == ['epoch_1.pth']


def test_checkpoint_hook_type_means_the_atomic_hook_in_mmavs_scope() -> None:
    register_all_modules()
    with DefaultScope.overwrite_default_scope('mmavs'):
        assert type(HOOKS.build(dict(type='CheckpointHook', interval=1))) is AtomicCheckpointHook
        assert type(HOOKS.build(dict(type='AtomicCheckpointHook', interval=1))) is AtomicCheckpointHook
        assert type(HOOKS.build(dict(type='mmengine.CheckpointHook', interval=1))) is CheckpointHook


@pytest.mark.parametrize('config', CONFIGS)
def test_every_config_uses_the_atomic_checkpoint_and_rng_hooks(config: str) -> None:
    hooks = Config.fromfile(osp.join(REPO, config)).default_hooks
    assert hooks.checkpoint.type == 'AtomicCheckpointHook'
    assert hooks.rng_state.type == 'RNGStateHook'


def _failing_torch_save(monkeypatch, should_fail):
    """Make ``torch.save`` raise (as a kill would stop it) for the checkpoints ``should_fail`` selects."""
    real_save = torch.save

    def save(obj, f, *args, **kwargs):
        if isinstance(obj, dict) and 'meta' in obj and should_fail(obj):
            raise OSError(28, 'No space left on device (simulated)')
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, 'save', save)


def test_failed_save_keeps_the_previous_checkpoint(toy_runner, tmp_path, monkeypatch) -> None:
    work_dir = str(tmp_path)
    first = osp.join(work_dir, 'epoch_1.pth')
    toy_runner(work_dir, max_epochs=1, **NO_RNG).train()  # max_keep_ckpts=1
    before = _sha(first)
    _failing_torch_save(monkeypatch, lambda ckpt: ckpt['meta']['epoch'] == 2)
    with pytest.raises(OSError, match='simulated'):
        toy_runner(work_dir, max_epochs=2, resume=True, load_from=first, **NO_RNG).train()
    assert osp.isfile(first) and _sha(first) == before
    assert _last_checkpoint(work_dir) == first
    assert not osp.exists(osp.join(work_dir, 'epoch_2.pth'))


def test_interrupted_write_never_shows_a_partial_checkpoint(toy_runner, tmp_path, monkeypatch) -> None:
    work_dir = str(tmp_path)
    first = osp.join(work_dir, 'epoch_1.pth')
    toy_runner(work_dir, max_epochs=1, **NO_RNG).train()

    def killed(src, dst):  # the new checkpoint is complete in its temporary file, not yet renamed
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic_file.os, 'replace', killed)
    with pytest.raises(KeyboardInterrupt):
        toy_runner(work_dir, max_epochs=2, resume=True, load_from=first, **NO_RNG).train()
    assert _last_checkpoint(work_dir) == first
    assert torch.load(first, weights_only=True)['meta']['epoch'] == 1
    assert not osp.exists(osp.join(work_dir, 'epoch_2.pth'))


def test_failed_best_save_keeps_the_previous_best(toy_runner, tmp_path, monkeypatch) -> None:
    work_dir = str(tmp_path)
    best_saves = []

    def second_best_save(ckpt):
        if 'optimizer' in ckpt:  # periodic checkpoints have it, best checkpoints do not
            return False
        best_saves.append(ckpt['meta']['epoch'])
        return len(best_saves) == 2

    _failing_torch_save(monkeypatch, second_best_save)
    checkpoint = dict(type='CheckpointHook', interval=1, max_keep_ckpts=1, save_best='acc', rule='greater')
    with pytest.raises(OSError, match='simulated'):
        toy_runner(work_dir, max_epochs=2, checkpoint=checkpoint, val=True, **NO_RNG).train()
    best = osp.join(work_dir, 'best_acc_epoch_1.pth')
    assert best_saves == [1, 2]
    assert torch.load(best, weights_only=True)['meta']['epoch'] == 1
    assert not osp.exists(osp.join(work_dir, 'best_acc_epoch_2.pth'))
    # the periodic checkpoint of epoch 2 was complete before the failed best save
    assert _last_checkpoint(work_dir) == osp.join(work_dir, 'epoch_2.pth')
    assert torch.load(_last_checkpoint(work_dir), weights_only=True)['meta']['epoch'] == 2


def test_new_best_replaces_the_previous_best_after_it_is_written(toy_runner, tmp_path) -> None:
    checkpoint = dict(type='CheckpointHook', interval=1, max_keep_ckpts=1, save_best='acc', rule='greater')
    toy_runner(str(tmp_path), max_epochs=3, checkpoint=checkpoint, val=True, **NO_RNG).train()
    names = sorted(n for n in os.listdir(str(tmp_path)) if n.endswith('.pth'))
    assert names == ['best_acc_epoch_3.pth', 'epoch_3.pth']


def test_stale_temp_files_are_removed_when_training_starts(toy_runner, tmp_path) -> None:
    stale = tmp_path / '.epoch_2.pth.x1y2z3.mmavs-tmp'
    stale.write_bytes(b'partial checkpoint of a killed save')
    toy_runner(str(tmp_path), max_epochs=1, **NO_RNG).train()
    assert not stale.exists()
    assert osp.isfile(str(tmp_path / 'epoch_1.pth'))
