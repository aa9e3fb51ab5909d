"""Tests of mmavs.utils.safe_load: weights-only checkpoint loading whatever torch's default."""
import importlib.util
import os.path as osp

import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.runner.checkpoint import _load_checkpoint

from mmavs.utils.safe_load import safe_torch_load, weights_only_torch_load

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
_spec = importlib.util.spec_from_file_location('_untrusted', osp.join(REPO, 'tests', 'untrusted.py'))
untrusted = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(untrusted)


@pytest.fixture
def full_unpickler_by_default(monkeypatch):
    """torch's default as in torch < 2.6: ``weights_only=False`` unless the caller says otherwise."""
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')


def test_mmengine_loader_refuses_code_even_with_an_unsafe_default(tmp_path, full_unpickler_by_default):
    path = untrusted.write_code_pickle(str(tmp_path / 'c.pth'), str(tmp_path / 'ran_control'))
    torch.load(path)  # the control: with this default a plain torch.load runs the pickle's code
    assert osp.exists(tmp_path / 'ran_control')
    marker = str(tmp_path / 'ran')
    path = untrusted.write_code_pickle(str(tmp_path / 'x.pth'), marker)
    with pytest.raises(ValueError, match=r"Cannot load '.*x\.pth' as a weights-only checkpoint"):
        _load_checkpoint(path, map_location='cpu')
    with pytest.raises(ValueError, match='weights-only'):
        safe_torch_load(path)
    assert not osp.exists(marker)


def test_training_checkpoints_still_load_with_an_unsafe_default(tmp_path, full_unpickler_by_default):
    hub = MessageHub.get_instance('safe_load_test')
    hub.update_scalar('train/loss', 0.5)
    path = str(tmp_path / 'epoch_1.pth')
    torch.save({'state_dict': {'w': torch.ones(2)}, 'message_hub': hub.state_dict(),
                'meta': {'epoch': 1, 'seed': torch.tensor(3).numpy()}}, path)
    loaded = _load_checkpoint(path, map_location='cpu')
    assert torch.equal(loaded['state_dict']['w'], torch.ones(2)) and loaded['meta']['epoch'] == 1
    assert loaded['message_hub']['log_scalars']['train/loss'].current() == 0.5


def test_the_context_restores_torch_load_and_refuses_unsafe_requests(tmp_path):
    original = torch.load
    path = str(tmp_path / 'w.pth')
    torch.save({'w': torch.zeros(1)}, path)
    with weights_only_torch_load():
        assert torch.load is not original
        with weights_only_torch_load():  # re-entrant
            assert torch.equal(torch.load(path)['w'], torch.zeros(1))
        with pytest.raises(ValueError, match=r'torch.load\(weights_only=False\) was requested'):
            torch.load(path, weights_only=False)
    assert torch.load is original
