"""Tests of tools/model_converters (convert.py --family and the per-family wrappers): official -> mmavs file."""
import hashlib
import importlib.util
import os.path as osp
import subprocess
import sys

import pytest
import torch
from torch import nn

from mmavs.models.backbones import AudioBackbone, VisualBackbone
from mmavs.models.text import CLIPCaptionEncoder
from mmavs.models.utils import load_pretrained

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _load_official_builders():
    """The official-layout state-dict builders of tests/test_models/test_checkpoint_loading.py."""
    path = osp.join(REPO, 'tests', 'test_models', 'test_checkpoint_loading.py')
    spec = importlib.util.spec_from_file_location('_official_checkpoints', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_OFFICIAL = _load_official_builders()
CLIP_E, CLIP_H, CLIP_L, CLIP_W = _OFFICIAL.CLIP_E, _OFFICIAL.CLIP_H, _OFFICIAL.CLIP_L, _OFFICIAL.CLIP_W
PVT_B0 = _OFFICIAL.PVT_B0
official_clip, official_pvt_v2 = _OFFICIAL.official_clip, _OFFICIAL.official_pvt_v2
official_resnet50, official_vggish = _OFFICIAL.official_resnet50, _OFFICIAL.official_vggish


def _tool(name: str):
    spec = importlib.util.spec_from_file_location(f'converter_{name}',
                                                  osp.join(REPO, 'tools', 'model_converters', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sha(path: str) -> str:
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_pvt_v2_converter_round_trip(tmp_path) -> None:
    sd = official_pvt_v2(**PVT_B0, seed=11)
    src, dst = str(tmp_path / 'pvt_v2_b0.pth'), str(tmp_path / 'out' / 'pvt_v2_b0_mmavs.pth')
    torch.save(sd, src)
    assert _tool('pvt_v2').main([src, dst]) == 0
    saved = torch.load(dst, weights_only=True)
    assert saved['meta']['arch'] == 'pvt_v2_b0' and saved['meta']['source_family'] == 'pvt_v2'
    assert saved['meta']['dropped'] == ['head.bias', 'head.weight']
    # 4 official tensors per block (q, kv weights and biases) become 2 packed ones
    blocks = sum(PVT_B0['depths'])
    assert len(saved['state_dict']) == len(sd) - 2 - 2 * blocks
    a, b = VisualBackbone('pvt_v2_b0'), VisualBackbone('pvt_v2_b0')
    load_pretrained(a, sd)
    report = load_pretrained(b, dst)
    assert report.missing == [] and report.unexpected == []
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_converters_run_as_scripts(tmp_path) -> None:
    src, dst = str(tmp_path / 'vggish.pth'), str(tmp_path / 'vggish_mmavs.pth')
    torch.save(official_vggish((4, ) * 6, (8, 8, 8)), src)
    proc = subprocess.run([sys.executable, osp.join(REPO, 'tools', 'model_converters', 'vggish.py'), src, dst],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert torch.load(dst, weights_only=True)['meta']['source_family'] == 'torchvggish'


def test_resnet_converter_checks_the_hash_prefix(tmp_path) -> None:
    sd = official_resnet50()
    tmp = str(tmp_path / 'tmp.pth')
    torch.save(sd, tmp)
    digest = _sha(tmp)
    good = str(tmp_path / f'resnet50-{digest[:8]}.pth')
    bad_digit = '0' if digest[0] != '0' else '1'
    bad = str(tmp_path / f'resnet50-{bad_digit}{digest[1:8]}.pth')
    for path in (good, bad):
        with open(tmp, 'rb') as f, open(path, 'wb') as g:
            g.write(f.read())
    dst = str(tmp_path / 'resnet50_mmavs.pth')
    tool = _tool('resnet')
    assert tool.main([good, dst]) == 0
    saved = torch.load(dst, weights_only=True)
    assert saved['meta']['arch'] == 'resnet50' and saved['meta']['dropped'] == ['fc.bias', 'fc.weight']
    assert set(saved['state_dict']) == set(sd) - {'fc.weight', 'fc.bias'}
    with pytest.raises(ValueError, match='sha256 does not start with the prefix'):
        tool.main([bad, dst])
    assert tool.main([bad, dst, '--no-hash-check']) == 0


def test_converter_rejects_wrong_family_and_missing_file(tmp_path) -> None:
    src = str(tmp_path / 'resnet.pth')
    torch.save(official_resnet50(), src)
    with pytest.raises(ValueError, match='torchvision ResNet checkpoint, but the pvt_v2 module needs'):
        _tool('pvt_v2').main([src, str(tmp_path / 'x.pth')])
    with pytest.raises(FileNotFoundError, match='docs/model_zoo.md'):
        _tool('vggish').main([str(tmp_path / 'vggish-10086976.pth'), str(tmp_path / 'y.pth')])
    assert not osp.exists(tmp_path / 'x.pth') and not osp.exists(tmp_path / 'y.pth')


def test_vggish_converter_infers_sizes_and_loads(tmp_path) -> None:
    channels, embed = (4, 8, 8, 8, 16, 16), (32, 32, 8)
    sd = official_vggish(channels, embed, seed=12)
    src, dst = str(tmp_path / 'vggish.pth'), str(tmp_path / 'vggish_mmavs.pth')
    torch.save(sd, src)
    _tool('vggish').main([src, dst])
    model = AudioBackbone(out_channels=4, channels=channels, embed_dims=embed,
                          init_cfg=dict(type='Pretrained', checkpoint=dst))
    model.init_weights()
    assert all(torch.equal(model.state_dict()[k], v) for k, v in sd.items())


class _ScriptableCLIP(nn.Module):
    """A TorchScript-able module with the OpenAI CLIP parameter names (stands in for ``ViT-B-16.pt``)."""

    def __init__(self, sd) -> None:
        super().__init__()
        self.params = {}
        for name, value in sd.items():
            *path, leaf = name.split('.')
            parent = self
            for part in path:
                if not hasattr(parent, part):
                    parent.add_module(part, nn.Module())
                parent = getattr(parent, part)
            parent.register_parameter(leaf, nn.Parameter(value.clone()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def test_clip_converter_reads_torchscript_and_drops_the_image_tower(tmp_path) -> None:
    sd = official_clip(seed=13)
    src = str(tmp_path / 'ViT-B-16.pt')
    torch.jit.save(torch.jit.script(_ScriptableCLIP(sd)), src)
    encoder = CLIPCaptionEncoder(width=CLIP_W, layers=CLIP_L, heads=CLIP_H, embed_dim=CLIP_E,
                                 init_cfg=dict(type='Pretrained', checkpoint=src))
    with pytest.raises(ValueError, match='TorchScript archive.*tools/model_converters/clip.py'):
        encoder.init_weights()
    dst = str(tmp_path / 'clip_text.pth')
    assert _tool('clip').main([src, dst]) == 0
    saved = torch.load(dst, weights_only=True)
    assert not any(k.startswith('visual.') or k == 'logit_scale' for k in saved['state_dict'])
    assert 'visual.proj' in saved['meta']['dropped']
    encoder = CLIPCaptionEncoder(width=CLIP_W, layers=CLIP_L, heads=CLIP_H, embed_dim=CLIP_E,
                                 init_cfg=dict(type='Pretrained', checkpoint=dst))
    encoder.init_weights()
    for k, v in encoder.state_dict().items():
        assert torch.equal(v, sd[k]), k


def test_one_command_converts_every_family(tmp_path) -> None:
    convert = _tool('convert')
    sources = {'pvt_v2': (official_pvt_v2(**PVT_B0), 'pvt_v2'),
               'resnet': (official_resnet50(), 'torchvision_resnet'),
               'vggish': (official_vggish((4, ) * 6, (8, 8, 8)), 'torchvggish'),
               'clip': (official_clip(), 'openai_clip')}
    for family, (sd, source_family) in sources.items():
        src, dst = str(tmp_path / f'{family}.pth'), str(tmp_path / f'{family}_mmavs.pth')
        torch.save(sd, src)
        assert convert.main(['--family', family, src, dst]) == 0
        meta = torch.load(dst, weights_only=True)['meta']
        assert meta['source_family'] == source_family and meta['target'] == ('clip_text' if family == 'clip'
                                                                              else family)
    with pytest.raises(SystemExit):
        convert.main(['--family', 'pvt_v1', src, dst])
    with pytest.raises(SystemExit):  # --family is required
        convert.main([src, dst])


def test_the_per_family_scripts_are_the_single_command(tmp_path) -> None:
    src = str(tmp_path / 'resnet.pth')
    torch.save(official_resnet50(), src)
    a, b = str(tmp_path / 'a.pth'), str(tmp_path / 'b.pth')
    _tool('resnet').main([src, a])
    _tool('convert').main(['--family', 'resnet', src, b])
    sa, sb = torch.load(a, weights_only=True), torch.load(b, weights_only=True)
    assert sa['meta'] == sb['meta'] and sa['state_dict'].keys() == sb['state_dict'].keys()
    assert all(torch.equal(sa['state_dict'][k], sb['state_dict'][k]) for k in sa['state_dict'])
    for family in ('pvt_v2', 'resnet', 'vggish', 'clip'):
        with open(osp.join(REPO, 'tools', 'model_converters', f'{family}.py')) as f:
            assert f"main = family_main('{family}')" in f.read()
