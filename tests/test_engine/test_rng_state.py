"""RNG state capture/restore and RNGStateHook on a toy Runner (in process, seconds).

The end-to-end test with the ICF config, a real ``kill -9`` and ``tools/train.py --resume`` is
``tests/test_tools/test_train_test_tools.py::test_icf_resume_after_kill_equals_uninterrupted_run``.
"""
import logging
import os.path as osp
import random
import shutil
from functools import partial

import numpy as np
import torch
from mmengine.dataset import DefaultSampler, worker_init_fn
from torch.utils.data import DataLoader

from mmavs.engine import RNG_STATE_KEY, capture_rng_state, restore_rng_state


def _draws():
    return (torch.rand(3).tolist(), np.random.rand(3).tolist(), [random.random() for _ in range(3)],
            np.random.randn(), torch.empty((), dtype=torch.int64).random_().item())


def test_restore_rng_state_replays_every_generator() -> None:
    torch.manual_seed(1)
    np.random.seed(2)
    random.seed(3)
    np.random.randn()  # leaves a cached gaussian in numpy's legacy state
    state = capture_rng_state()
    first = _draws()
    assert _draws() != first
    restore_rng_state(state)
    assert _draws() == first


def test_rng_state_loads_with_weights_only(tmp_path) -> None:
    path = str(tmp_path / 'state.pth')
    loader = DataLoader(list(range(4)), sampler=DefaultSampler(list(range(4)), seed=5),
                        worker_init_fn=partial(worker_init_fn, num_workers=2, rank=0, seed=7))
    torch.save({RNG_STATE_KEY: capture_rng_state(loader)}, path)
    state = torch.load(path, weights_only=True)[RNG_STATE_KEY]
    assert state['loader'] == dict(worker_seed=7, sampler_seed=5, generator=None)
    first = _draws()
    restore_rng_state(state)
    assert _draws() == first


def test_restore_sets_the_data_loader_seeds() -> None:
    def loader(seed):
        return DataLoader(list(range(4)), sampler=DefaultSampler(list(range(4)), seed=seed),
                          worker_init_fn=partial(worker_init_fn, num_workers=2, rank=0, seed=seed))

    saved = capture_rng_state(loader(11))
    other = loader(99)
    restore_rng_state(saved, other)
    assert other.sampler.seed == 11
    assert other.worker_init_fn.keywords == dict(num_workers=2, rank=0, seed=11)


def _weights(path: str) -> dict:
    return torch.load(path, map_location='cpu', weights_only=True)['state_dict']


def _uninterrupted_and_resumed(toy_runner, tmp_path, interval=1, **kwargs):
    """Train 4 epochs (validation after each); separately resume from the first checkpoint (epoch
    ``interval``); return both final weights."""
    full = str(tmp_path / 'full')
    keep_all = dict(type='CheckpointHook', interval=interval, max_keep_ckpts=-1)
    toy_runner(full, max_epochs=4, checkpoint=keep_all, val=True, **kwargs).train()
    resumed = str(tmp_path / 'resumed')
    later = [f'epoch_{e}.pth' for e in range(interval + 1, 5)]
    shutil.copytree(full, resumed, ignore=shutil.ignore_patterns(*later))
    torch.manual_seed(1234)  # the resumed process starts from another state
    toy_runner(resumed, max_epochs=4, checkpoint=keep_all, val=True, resume=True,
               load_from=osp.join(resumed, f'epoch_{interval}.pth'), **kwargs).train()
    return _weights(osp.join(full, 'epoch_4.pth')), _weights(osp.join(resumed, 'epoch_4.pth'))


def test_resumed_toy_run_equals_uninterrupted_run(toy_runner, tmp_path) -> None:
    full, resumed = _uninterrupted_and_resumed(toy_runner, tmp_path)
    assert full.keys() == resumed.keys()
    assert all(torch.equal(full[k], resumed[k]) for k in full)


def test_validation_between_checkpoints_does_not_change_training(toy_runner, tmp_path) -> None:
    # validation after every epoch, a checkpoint every 2: after resuming from epoch 2, the validation of
    # epoch 3 creates the persistent val workers (drawing their base seed from the torch generator) where
    # the uninterrupted run reuses them; epoch 4 must not see the difference
    full, resumed = _uninterrupted_and_resumed(toy_runner, tmp_path, interval=2, val_workers=1)
    assert all(torch.equal(full[k], resumed[k]) for k in full)


def test_toy_run_is_sensitive_to_the_rng_state(toy_runner, tmp_path) -> None:
    # control for the test above: without the hook the resumed run differs
    full, resumed = _uninterrupted_and_resumed(toy_runner, tmp_path, rng_state=None)
    assert not all(torch.equal(full[k], resumed[k]) for k in full)


def test_checkpoint_holds_the_state_of_every_rank(toy_runner, tmp_path) -> None:
    toy_runner(str(tmp_path), max_epochs=1).train()
    ckpt = torch.load(str(tmp_path / 'epoch_1.pth'), weights_only=True)
    state = ckpt[RNG_STATE_KEY]
    assert state['world_size'] == 1 and len(state['ranks']) == 1
    assert set(state['ranks'][0]) == {'version', 'torch', 'cuda', 'numpy', 'python', 'loader'}
    assert state['ranks'][0]['loader']['worker_seed'] == 0  # randomness=dict(seed=0)


def _warnings(caplog) -> str:
    return '\n'.join(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)


def test_resuming_a_checkpoint_without_rng_state_warns(toy_runner, tmp_path, caplog) -> None:
    work_dir = str(tmp_path)
    toy_runner(work_dir, max_epochs=1, rng_state=None).train()
    runner = toy_runner(work_dir, max_epochs=2, resume=True, load_from=osp.join(work_dir, 'epoch_1.pth'))
    runner.logger.addHandler(caplog.handler)
    runner.train()
    assert 'has no RNG state' in _warnings(caplog)


def test_iteration_based_checkpoint_warns_once(toy_runner, tmp_path, caplog) -> None:
    runner = toy_runner(str(tmp_path), max_epochs=1,
                        checkpoint=dict(type='CheckpointHook', interval=1, by_epoch=False))
    runner.logger.addHandler(caplog.handler)
    runner.train()
    warnings = _warnings(caplog)
    assert warnings.count('not at the end of a train epoch') == 1
    assert 'by_epoch=True' in warnings


def test_device_without_saved_generator_warns(toy_runner, tmp_path, caplog, monkeypatch) -> None:
    import mmavs.engine.hooks.rng_state_hook as hook_module
    monkeypatch.setattr(hook_module, 'get_device', lambda: 'npu')
    runner = toy_runner(str(tmp_path), max_epochs=1)
    runner.logger.addHandler(caplog.handler)
    runner.train()
    assert 'not those of the npu device' in _warnings(caplog)
