"""Tests of mmavs.models.utils.torchscript_archive: a TorchScript archive's tensors, read as data."""
import importlib.util
import io
import os
import os.path as osp
import pickle
import zipfile

import pytest
import torch
from torch import nn

from mmavs.models.utils.torchscript_archive import read_torchscript_state_dict

_spec = importlib.util.spec_from_file_location(
    '_untrusted', osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'untrusted.py'))
untrusted = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(untrusted)


class _Block(nn.Module):

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(3, 3)
        self.ln = nn.LayerNorm(3)
        self.register_buffer('persistent', torch.arange(3.))
        self.register_buffer('transient', torch.ones(1), persistent=False)
        self.plain = torch.full((3, ), 7.)  # a tensor attribute, neither parameter nor buffer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ln(self.lin(x) + self.persistent + self.transient + self.plain)


class _Net(nn.Module):

    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.Sequential(_Block(), _Block())
        self.scale = nn.Parameter(torch.randn(3).half())  # OpenAI CLIP archives hold fp16 tensors
        self.strided = nn.Parameter(torch.randn(4, 6)[:, ::2])  # a non-contiguous view

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(x) * self.scale.float() + self.strided.sum()


@pytest.mark.parametrize('mode', ['script', 'trace'])
def test_reads_what_torch_jit_load_reads(tmp_path, mode):
    torch.manual_seed(0)
    net = _Net()
    path = str(tmp_path / f'{mode}.pt')
    scripted = torch.jit.script(net) if mode == 'script' else torch.jit.trace(net, torch.randn(2, 3))
    torch.jit.save(scripted, path)
    reference = torch.jit.load(path).state_dict()  # our own archive: safe to run here, it is the oracle
    got = read_torchscript_state_dict(path)
    assert list(got) == list(reference)
    for key, value in reference.items():
        assert got[key].dtype == value.dtype and torch.equal(got[key], value), key
    # and the values are the network's, not only the loader's agreement with itself
    assert torch.equal(got['scale'], net.scale.detach()) and torch.equal(got['strided'], net.strided.detach())
    assert 'blocks.0.plain' not in got


def test_crafted_setstate_never_runs(tmp_path):
    marker = str(tmp_path / 'created_by_setstate')
    path = untrusted.write_code_archive(str(tmp_path / 'ViT-B-16.pt'), marker)
    torch.jit.load(path)  # the danger is real: TorchScript's loader runs the archive's __setstate__
    assert osp.exists(marker)
    os.remove(marker)
    with pytest.raises(ValueError, match='stores a custom state .* cannot be named without running'):
        read_torchscript_state_dict(path)
    assert not osp.exists(marker)


def test_foreign_globals_in_the_module_pickle_are_refused(tmp_path):
    marker = str(tmp_path / 'created_by_pickle')
    good = str(tmp_path / 'good.pt')
    torch.jit.save(torch.jit.script(nn.Linear(2, 2)), good)
    payload = pickle.dumps(untrusted._MakesDirectory(marker), protocol=2)
    bad = str(tmp_path / 'bad.pt')
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, 'w') as dst:
        for item in src.infolist():
            data = payload if item.filename.endswith('/data.pkl') else src.read(item.filename)
            dst.writestr(item, data)
    with pytest.raises(ValueError, match=r'refers to posix\.mkdir'):
        read_torchscript_state_dict(bad)
    assert not osp.exists(marker)


def test_truncated_storage_is_an_error(tmp_path):
    good = str(tmp_path / 'good.pt')
    torch.jit.save(torch.jit.script(nn.Linear(4, 4)), good)
    bad = str(tmp_path / 'short.pt')
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, 'w') as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if '/data/' in item.filename:
                data = data[:4]
            dst.writestr(item, data)
    with pytest.raises(ValueError, match=r'storage .* holds 4 bytes'):
        read_torchscript_state_dict(bad)


def test_a_plain_checkpoint_is_not_an_archive(tmp_path):
    path = str(tmp_path / 'plain.pth')
    buffer = io.BytesIO()
    torch.save({'w': torch.zeros(1)}, buffer)
    with open(path, 'wb') as f:
        f.write(buffer.getvalue())
    with pytest.raises(ValueError, match='not a TorchScript archive'):
        read_torchscript_state_dict(path)
