"""Tests of the argument / config helpers shared by the tools."""
import argparse
import os
import os.path as osp

import pytest

from mmavs.utils.tool_args import ModelSpec, add_runner_args, load_config, parse_model_spec, parse_runner_args

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CFG = osp.join(REPO, 'configs', 'baseline', 'baseline_tiny_synthetic_s4.py')


def test_cfg_options_override_and_default_work_dir(monkeypatch) -> None:
    monkeypatch.delenv('LOCAL_RANK', raising=False)
    parser = add_runner_args(argparse.ArgumentParser())
    parser.add_argument('config')
    args = parse_runner_args(parser, [CFG, '--cfg-options', 'train_cfg.max_epochs=3',
                                      'model.decoder.num_layers=1', '--local_rank', '1'])
    assert os.environ['LOCAL_RANK'] == '1'
    cfg = load_config(args.config, args.cfg_options, args.work_dir)
    assert cfg.train_cfg.max_epochs == 3 and cfg.model.decoder.num_layers == 1
    assert cfg.work_dir == osp.join('./work_dirs', 'baseline_tiny_synthetic_s4')
    assert load_config(CFG, None, '/tmp/x').work_dir == '/tmp/x'


def test_model_specs_name_config_and_checkpoint(tmp_path) -> None:
    ckpt = tmp_path / 'epoch_8.pth'
    ckpt.write_bytes(b'x')
    assert parse_model_spec(f'ICF={CFG}:{ckpt}') == ModelSpec('ICF', CFG, str(ckpt))
    assert parse_model_spec(f'{CFG}:{ckpt}').name == 'baseline_tiny_synthetic_s4'  # the config's name
    assert parse_model_spec(f' A b ={CFG}:{ckpt}').name == 'A b'
    assert parse_model_spec(f'u={CFG}:https://host/w.pth').checkpoint == 'https://host/w.pth'  # not checked here
    for spec in (f'{CFG}', f'x={CFG}:', f'={CFG}:{ckpt}', f'x=a.yaml:{ckpt}'):
        with pytest.raises(ValueError, match=r"--method '.*': expected \[NAME=\]CONFIG.py:CHECKPOINT"):
            parse_model_spec(spec, '--method')
    with pytest.raises(FileNotFoundError, match=r'model x: config file "nowhere/c.py" does not exist'):
        parse_model_spec(f'x=nowhere/c.py:{ckpt}')
    with pytest.raises(FileNotFoundError, match=r'checkpoint file ".*none.pth" does not exist'):
        parse_model_spec(f'x={CFG}:{tmp_path / "none.pth"}')
