"""End-to-end tests of tools/train.py, tools/test.py and tools/dist_train.sh on generated data.

Every run goes through the real command-line tools in a subprocess, as a user would run them.
"""
import json
import os
import os.path as osp
import shutil
import signal
import socket
import subprocess
import sys
from typing import Dict, List, Optional

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_CFG = 'configs/baseline/baseline_tiny_synthetic_s4.py'
THIRD_PARTY_DIR = osp.join(REPO, 'tests', 'data', 'third_party')


def data_opts(data_root: str, batch_size: int = 2, shuffle: bool = True) -> List[str]:
    """``--cfg-options`` for a fast, deterministic CPU run on ``data_root``."""
    opts = []
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [
            f'{loader}.dataset.data_root={data_root}', f'{loader}.num_workers=0',
            f'{loader}.persistent_workers=False', f'{loader}.batch_size={batch_size}'
        ]
    opts += [
        f'train_dataloader.sampler.shuffle={shuffle}', 'default_hooks.logger.interval=1',
        'train_cfg.val_interval=100'
    ]
    return opts


def tool_env(extra_env: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join([REPO] + [env['PYTHONPATH']] if env.get('PYTHONPATH') else [REPO])
    env.update(extra_env or {})
    return env


def run_tool(args: List[str], extra_env: Optional[Dict[str, str]] = None,
             timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        args, cwd=REPO, env=tool_env(extra_env), capture_output=True, text=True, timeout=timeout)


def train(work_dir: str, data_root: str, *extra: str, cfg: str = TINY_CFG,
          opts: Optional[List[str]] = None, env: Optional[Dict[str, str]] = None):
    opts = (opts or []) + data_opts(data_root)
    return run_tool([sys.executable, 'tools/train.py', cfg, '--work-dir', work_dir, *extra,
                     '--cfg-options', *opts], extra_env=env)


def assert_ok(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, f'exit {proc.returncode}\nSTDOUT:\n{proc.stdout[-4000:]}\n' \
                                 f'STDERR:\n{proc.stderr[-4000:]}'


def load_state(path: str) -> Dict[str, torch.Tensor]:
    import mmavs  # noqa: F401  (allow-lists MMEngine's checkpoint objects)
    return torch.load(path, map_location='cpu', weights_only=True)['state_dict']


@pytest.fixture(scope='module')
def trained(tmp_path_factory: pytest.TempPathFactory, s4_root: str) -> str:
    """Work dir of a 2-epoch run of the tiny baseline (checkpoints epoch_1.pth and epoch_2.pth)."""
    work_dir = str(tmp_path_factory.mktemp('train_tiny'))
    proc = train(work_dir, s4_root, opts=['train_cfg.max_epochs=2',
                                          'default_hooks.checkpoint.interval=1',
                                          'default_hooks.checkpoint.max_keep_ckpts=3'])
    assert_ok(proc)
    return work_dir


def test_train_saves_checkpoints_per_epoch(trained: str) -> None:
    assert osp.isfile(osp.join(trained, 'epoch_1.pth'))
    assert osp.isfile(osp.join(trained, 'epoch_2.pth'))
    first = load_state(osp.join(trained, 'epoch_1.pth'))
    second = load_state(osp.join(trained, 'epoch_2.pth'))
    # the model was trained between the two epochs
    changed = [k for k in first if not torch.equal(first[k], second[k])]
    assert any(k.startswith('decoder.') for k in changed)
    assert any(k.startswith('visual_backbone.') for k in changed)


def test_checkpoint_needs_only_allow_listed_globals(trained: str) -> None:
    ckpt = osp.join(trained, 'epoch_2.pth')
    # without mmavs' allow-list, safe loading rejects MMEngine's message hub objects ...
    plain = run_tool([sys.executable, '-c',
                      f'import torch; torch.load({ckpt!r}, weights_only=True)'])
    assert plain.returncode != 0 and 'Weights only load failed' in plain.stderr
    # ... with it, the full checkpoint (meta, message hub, optimizer) loads with weights_only=True
    import mmavs  # noqa: F401
    state = torch.load(ckpt, map_location='cpu', weights_only=True)
    assert state['meta']['epoch'] == 2
    assert 'optimizer' in state and 'message_hub' in state


def test_test_tool_writes_metrics(trained: str, s4_root: str, tmp_path) -> None:
    out = str(tmp_path / 'metrics.json')
    proc = run_tool([sys.executable, 'tools/test.py', TINY_CFG, osp.join(trained, 'epoch_2.pth'),
                     '--work-dir', str(tmp_path), '--out', out, '--cfg-options', *data_opts(s4_root)])
    assert_ok(proc)
    with open(out) as f:
        metrics = json.load(f)
    for key in ('avs/J_legacy', 'avs/F_legacy', 'avs/J_dataset', 'avs/F_dataset', 'avs/FDR'):
        assert key in metrics, sorted(metrics)
        assert 0.0 <= metrics[key] <= 100.0


def test_shuffle_audio_option_sets_dataset_seed() -> None:
    sys.path.insert(0, osp.join(REPO, 'tools'))
    try:
        import test as test_tool
    finally:
        sys.path.pop(0)
    args = test_tool.parse_args([TINY_CFG, 'ckpt.pth', '--shuffle-audio', '3'])
    cfg = test_tool.build_cfg(args)
    assert cfg.test_dataloader.dataset.audio_shuffle_seed == 3
    assert cfg.load_from == 'ckpt.pth'
    args = test_tool.parse_args([TINY_CFG, 'ckpt.pth'])
    assert test_tool.build_cfg(args).test_dataloader.dataset.get('audio_shuffle_seed') is None


def test_resume_continues_from_the_last_epoch(trained: str, s4_root: str, tmp_path) -> None:
    work_dir = str(tmp_path / 'resumed')
    shutil.copytree(trained, work_dir)
    proc = train(work_dir, s4_root, '--resume', opts=['train_cfg.max_epochs=3',
                                                      'default_hooks.checkpoint.interval=1'])
    assert_ok(proc)
    log = proc.stdout + proc.stderr
    assert 'resumed epoch: 2' in log
    assert 'Epoch(train) [3]' in log and 'Epoch(train) [1]' not in log
    state = torch.load(osp.join(work_dir, 'epoch_3.pth'), map_location='cpu', weights_only=True)
    assert state['meta']['epoch'] == 3 and state['meta']['iter'] == 3 * 2


def test_amp_without_accelerator_gives_clear_message(s4_root: str, tmp_path) -> None:
    proc = train(str(tmp_path), s4_root, '--amp')
    assert proc.returncode != 0
    assert '--amp needs a CUDA, NPU or MLU device' in proc.stderr


def test_missing_data_root_says_how_to_prepare_data(tmp_path) -> None:
    missing = str(tmp_path / 'no_such_dataset')
    proc = train(str(tmp_path), missing)
    assert proc.returncode != 0
    assert missing in proc.stderr and 'dataset_prepare.md' in proc.stderr


def test_third_party_module_through_custom_imports(s4_root: str, tmp_path) -> None:
    proc = train(str(tmp_path), s4_root, cfg='tests/data/third_party/gated_neck_tiny_s4.py',
                 opts=['train_cfg.max_epochs=1'], env={'PYTHONPATH': f'{REPO}{os.pathsep}{THIRD_PARTY_DIR}'})
    assert_ok(proc)
    state = load_state(osp.join(str(tmp_path), 'epoch_1.pth'))
    # the user's module was built from the config and trained (its gate starts at zero)
    assert 'neck.third_party_gate' in state
    assert state['neck.third_party_gate'].abs().sum() > 0


def test_unknown_registered_type_is_named(s4_root: str) -> None:
    from mmengine.config import Config

    from mmavs.registry import MODELS
    from mmavs.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(osp.join(REPO, TINY_CFG))
    cfg.model.decoder.type = 'NoSuchDecoder'
    with pytest.raises(KeyError, match='NoSuchDecoder'):
        MODELS.build(cfg.model)


def _free_port() -> int:
    """A TCP port that is free on this machine now (for torchrun's rendezvous)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _weights_after_one_epoch(work_dir: str, data_root: str, nproc: int) -> Dict[str, torch.Tensor]:
    # BCE only, plain SGD and no BatchNorm (per-process batch statistics differ from the whole batch's;
    # SyncBN needs GPUs): the DDP gradient (mean over ranks of per-rank means over equal-sized halves)
    # then equals the single-process gradient of the whole batch.
    os.makedirs(work_dir)
    cfg = osp.join(work_dir, 'bce_sgd.py')
    with open(cfg, 'w') as f:
        f.write(f"_base_ = [{osp.join(REPO, TINY_CFG)!r}]\n"
                "model = dict(losses=[dict(type='AVSBCELoss')],\n"
                "    audio_backbone=dict(embed_norm_cfg=None),\n"
                "    visual_backbone=dict(_delete_=True, type='VisualBackbone', arch='pvt_v2_b0',\n"
                "                         drop_path_rate=0.0),\n"
                "    neck=dict(in_channels=[32, 64, 160, 256]))\n"
                "optim_wrapper = dict(optimizer=dict(_delete_=True, type='SGD', lr=0.5))\n")
    opts = data_opts(data_root, batch_size=4 // nproc, shuffle=False) + ['train_cfg.max_epochs=1']
    if nproc == 1:
        proc = run_tool([sys.executable, 'tools/train.py', cfg, '--work-dir', work_dir,
                         '--cfg-options', *opts])
    else:
        proc = run_tool(['bash', 'tools/dist_train.sh', cfg, str(nproc), '--work-dir', work_dir,
                         '--cfg-options', *opts],
                        extra_env={'PYTHON': sys.executable, 'PORT': str(_free_port())})
    assert_ok(proc)
    log = proc.stdout + proc.stderr
    return load_state(osp.join(work_dir, 'epoch_1.pth')), log


def test_dist_train_two_cpu_processes_matches_one_process(s4_root: str, tmp_path) -> None:
    single, _ = _weights_after_one_epoch(str(tmp_path / 'one'), s4_root, nproc=1)
    double, log = _weights_after_one_epoch(str(tmp_path / 'two'), s4_root, nproc=2)
    assert 'Distributed training: True' in log
    # 4 training clips split over 2 ranks of batch 2 -> one iteration per epoch on each rank
    assert 'Epoch(train) [1][1/1]' in log
    assert single.keys() == double.keys()
    max_diff = max((single[k].float() - double[k].float()).abs().max().item() for k in single)
    assert max_diff < 1e-4, max_diff


# --- resuming and checkpoint safety (kill -9, moved and unusable work dirs) ---------------------------

ICF_CFG = 'configs/icl/icl_tiny_synthetic_s4.py'
FAULT_DIR = osp.join(REPO, 'tests', 'data', 'fault_injection')
FAULT_ENV = {'PYTHONPATH': f'{REPO}{os.pathsep}{FAULT_DIR}'}


def fault_config(path: str, base: str, hook: str) -> str:
    """Write a config at ``path``: ``base`` plus one hook of tests/data/fault_injection/fault_hooks.py."""
    with open(path, 'w') as f:
        f.write(f"_base_ = [{osp.join(REPO, base)!r}]\n"
                "custom_imports = dict(imports=['fault_hooks'], allow_failed_imports=False)\n"
                f"custom_hooks = [{hook}]\n")
    return path


def load_tool(name: str):
    """Import ``tools/<name>.py`` as a module."""
    sys.path.insert(0, osp.join(REPO, 'tools'))
    try:
        return __import__(name)
    finally:
        sys.path.pop(0)


def test_icf_resume_after_kill_equals_uninterrupted_run(s4_root: str, tmp_path) -> None:
    # the ICF config's loader with 2 persistent workers, one iteration per epoch, a checkpoint after
    # every epoch and validation right after it (validation draws from the RNG after the save)
    opts = data_opts(s4_root) + [
        'train_dataloader.batch_size=4', 'train_dataloader.num_workers=2',
        'train_dataloader.persistent_workers=True', 'train_cfg.max_epochs=2', 'train_cfg.val_interval=1',
        'default_hooks.checkpoint.interval=1']
    full, killed = str(tmp_path / 'full'), str(tmp_path / 'killed')
    kill_cfg = fault_config(str(tmp_path / 'kill.py'), ICF_CFG,
                            "dict(type='SigkillAfterCheckpointHook', epoch=1)")
    runs = [subprocess.Popen([sys.executable, 'tools/train.py', cfg, '--work-dir', work_dir,
                              '--cfg-options', *opts],
                             cwd=REPO, env=tool_env(FAULT_ENV), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
            for cfg, work_dir in ((ICF_CFG, full), (kill_cfg, killed))]  # both at once: faster
    logs = [run.communicate(timeout=900)[0] for run in runs]
    assert runs[0].returncode == 0, logs[0][-4000:]
    assert 'Epoch(val) [1]' in logs[0]
    assert runs[1].returncode == -9, logs[1][-4000:]  # kill -9 right after the first checkpoint
    assert sorted(n for n in os.listdir(killed) if n.endswith('.pth')) == ['epoch_1.pth']

    proc = run_tool([sys.executable, 'tools/train.py', ICF_CFG, '--work-dir', killed, '--resume',
                     '--cfg-options', *opts])
    assert_ok(proc)
    assert 'resumed epoch: 1' in proc.stdout + proc.stderr
    uninterrupted = load_state(osp.join(full, 'epoch_2.pth'))
    resumed = load_state(osp.join(killed, 'epoch_2.pth'))
    assert uninterrupted.keys() == resumed.keys()
    differ = [k for k in uninterrupted if not torch.equal(uninterrupted[k], resumed[k])]
    assert not differ, f'{len(differ)} of {len(resumed)} tensors differ, e.g. {differ[:5]}'


def test_kill_while_writing_a_checkpoint_keeps_the_previous_one(trained: str, s4_root: str,
                                                                tmp_path) -> None:
    limit = osp.getsize(osp.join(trained, 'epoch_1.pth')) // 2
    cfg = fault_config(str(tmp_path / 'fsize.py'), TINY_CFG,
                       f"dict(type='FileSizeLimitAtSaveHook', save=2, limit_bytes={limit})")
    work_dir = str(tmp_path / 'work')
    # the kernel kills the process (SIGXFSZ) when the checkpoint of epoch 2 reaches half its size
    proc = train(work_dir, s4_root, cfg=cfg, env=FAULT_ENV,
                 opts=['train_cfg.max_epochs=2', 'default_hooks.checkpoint.interval=1',
                       'default_hooks.checkpoint.max_keep_ckpts=1'])
    assert proc.returncode == -signal.SIGXFSZ, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'Saving checkpoint at 2 epochs' in proc.stdout + proc.stderr
    partial = [n for n in os.listdir(work_dir) if n.startswith('.epoch_2.pth.')]
    assert len(partial) == 1 and osp.getsize(osp.join(work_dir, partial[0])) == limit
    assert not osp.exists(osp.join(work_dir, 'epoch_2.pth'))
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        last = f.read().strip()
    assert last == osp.join(work_dir, 'epoch_1.pth')
    state = torch.load(last, map_location='cpu', weights_only=True)  # complete: it loads
    assert state['meta']['epoch'] == 1 and 'optimizer' in state


def test_resume_with_nothing_to_resume_says_so(s4_root: str, tmp_path) -> None:
    work_dir = str(tmp_path / 'fresh')
    proc = train(work_dir, s4_root, '--resume', opts=['train_cfg.max_epochs=0'])
    assert_ok(proc)
    log = proc.stdout + proc.stderr
    assert f'WARNING - --resume: nothing to resume in the work dir {work_dir}' in log
    assert 'training starts from scratch' in log


def test_resume_from_a_missing_checkpoint_fails_clearly(s4_root: str, tmp_path) -> None:
    missing = str(tmp_path / 'no_such_checkpoint.pth')
    work_dir = str(tmp_path / 'work')
    proc = train(work_dir, s4_root, '--resume', missing)
    assert proc.returncode != 0
    assert f'Cannot resume: the checkpoint {missing} does not exist.' in proc.stderr
    assert 'Traceback' not in proc.stderr
    assert not osp.exists(work_dir)  # stopped before anything was written


def test_moved_work_dir_resumes(trained: str, s4_root: str, tmp_path) -> None:
    old, new = str(tmp_path / 'old'), str(tmp_path / 'new')
    shutil.copytree(trained, old)
    with open(osp.join(old, 'last_checkpoint'), 'w') as f:  # as training in ``old`` wrote it
        f.write(osp.join(old, 'epoch_2.pth'))
    shutil.move(old, new)
    proc = train(new, s4_root, '--resume', opts=['train_cfg.max_epochs=3',
                                                 'default_hooks.checkpoint.interval=1'])
    assert_ok(proc)
    log = proc.stdout + proc.stderr
    assert f'resuming from {osp.join(new, "epoch_2.pth")} (the work dir was moved)' in log
    assert 'resumed epoch: 2' in log
    state = torch.load(osp.join(new, 'epoch_3.pth'), map_location='cpu', weights_only=True)
    assert state['meta']['epoch'] == 3


def test_unwritable_work_dir_fails_at_start(trained: str, s4_root: str, tmp_path) -> None:
    # as root, chmod cannot make a directory read-only: a work dir below a regular file cannot be created
    (tmp_path / 'file').write_text('not a directory')
    work_dir = str(tmp_path / 'file' / 'work')
    commands = [
        [sys.executable, 'tools/train.py', TINY_CFG, '--work-dir', work_dir],
        [sys.executable, 'tools/test.py', TINY_CFG, osp.join(trained, 'epoch_2.pth'), '--work-dir', work_dir],
    ]
    for command in commands:
        proc = run_tool(command + ['--cfg-options', *data_opts(s4_root)])
        assert proc.returncode != 0
        assert f'Cannot write into the work dir {work_dir}: a part of the path is a file' in proc.stderr
        assert 'Traceback' not in proc.stderr


def test_full_work_dir_fails_before_the_runner_writes(s4_root: str, tmp_path, monkeypatch) -> None:
    import mmavs.utils.work_dir as work_dir_module

    def full_disk(directory: str) -> None:  # a real ENOSPC from the kernel
        with open('/dev/full', 'wb') as f:
            f.write(b'\0' * work_dir_module.PROBE_BYTES)
            f.flush()

    monkeypatch.setattr(work_dir_module, '_write_probe', full_disk)
    work_dir = str(tmp_path / 'work')
    for tool, extra in (('train', []), ('test', ['ckpt.pth'])):
        with pytest.raises(SystemExit) as info:
            load_tool(tool).main([TINY_CFG, *extra, '--work-dir', work_dir,
                                  '--cfg-options', *data_opts(s4_root)])
        assert f'Cannot write into the work dir {work_dir}: no space left' in str(info.value.code)
        assert os.listdir(work_dir) == []  # the Runner did not start


def test_too_little_space_for_a_checkpoint_fails_before_training(s4_root: str, tmp_path,
                                                                  monkeypatch) -> None:
    import mmavs.utils.work_dir as work_dir_module
    real_usage = shutil.disk_usage
    monkeypatch.setattr(work_dir_module.shutil, 'disk_usage',
                        lambda path: real_usage(path)._replace(free=1 << 20))  # 1 MiB free
    work_dir = str(tmp_path / 'work')
    with pytest.raises(SystemExit) as info:
        load_tool('train').main([TINY_CFG, '--work-dir', work_dir, '--cfg-options', *data_opts(s4_root)])
    message = str(info.value.code)
    assert f'Not enough free space in the work dir {work_dir}: 1.0 MiB free' in message
    assert not [n for n in os.listdir(work_dir) if n.endswith('.pth')]


@pytest.mark.parametrize('dtype, expected', [('fp16', 'float16'), ('bf16', 'bfloat16')])
def test_amp_dtype_sets_the_amp_optim_wrapper(dtype, expected, monkeypatch) -> None:
    """On an accelerator (faked here: the CPU has none) --amp --amp-dtype gives AmpOptimWrapper in that dtype."""
    import mmengine.device
    from mmengine.config import Config
    monkeypatch.setattr(mmengine.device, 'is_cuda_available', lambda: True)
    cfg = Config.fromfile(TINY_CFG)
    load_tool('train')._enable_amp(cfg, dtype)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper' and cfg.optim_wrapper.dtype == expected
    assert cfg.optim_wrapper.loss_scale == 'dynamic' and cfg.optim_wrapper.optimizer.type == 'AdamW'


def test_amp_dtype_needs_amp(s4_root: str, tmp_path) -> None:
    proc = train(str(tmp_path), s4_root, '--amp-dtype', 'bf16')
    assert proc.returncode != 0 and '--amp-dtype chooses the precision of --amp' in proc.stderr
