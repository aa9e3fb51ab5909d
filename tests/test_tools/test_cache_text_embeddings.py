"""Tests of tools/misc/cache_text_embeddings.py (in-process main() and one real subprocess run)."""
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from mmavs.models.text import CLIPCaptionEncoder, TextEmbeddingCache

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'misc', 'cache_text_embeddings.py')
TINY = ['width=16', 'layers=1', 'heads=2', 'embed_dim=8']
CAPTIONS = {
    'clip_a': {'video': 'a dog on grass', 'segments': ['a dog runs', 'a dog sits'],
               'frames': ['a dog', 'a dog', 'a dog sits', 'a dog sits', 'a dog sits']},
    'clip_b': {'video': 'a red circle', 'segments': ['a red circle'], 'frames': ['a red circle', 'a blue square']},
}
# unique: 'a dog on grass', 'a dog runs', 'a dog sits', 'a dog', 'a red circle', 'a blue square'
UNIQUE = ['a dog on grass', 'a dog runs', 'a dog sits', 'a dog', 'a red circle', 'a blue square']


def load_tool():
    spec = importlib.util.spec_from_file_location('cache_text_embeddings', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny_encoder(seed: int = 0) -> CLIPCaptionEncoder:
    torch.manual_seed(seed)
    return CLIPCaptionEncoder(width=16, layers=1, heads=2, embed_dim=8).eval()


@pytest.fixture
def caption_root(tmp_path):
    root = tmp_path / 'AVSS'
    root.mkdir()
    (root / 'captions.json').write_text(json.dumps(CAPTIONS))
    return str(root)


def test_encodes_all_then_nothing(tmp_path, caption_root, capsys):
    tool = load_tool()
    cache_root = str(tmp_path / 'cache')
    argv = ['--data-root', caption_root, '--cache-root', cache_root, '--encoder-options', *TINY]
    assert tool.main(argv) == 0
    out = capsys.readouterr().out
    assert '6 unique captions (12 in total)' in out and 'Encoded 6 new captions' in out

    enc = tiny_encoder()
    cache = TextEmbeddingCache(cache_root, enc.cache_key())
    assert all(cache.contains(c) for c in UNIQUE)
    files = [f for _, _, fs in os.walk(cache.encoder_dir) for f in fs if f.endswith('.pt')]
    assert len(files) == 6
    # Stored embeddings equal a direct encoding with the same (seeded) weights.
    direct = enc(UNIQUE)
    for i, c in enumerate(UNIQUE):
        n = int((~direct.padding_mask[i]).sum())
        assert torch.allclose(cache.load(c)['tokens'], direct.tokens[i, :n], atol=1e-6)

    assert tool.main(argv) == 0
    out = capsys.readouterr().out
    assert '6 already cached' in out and 'Nothing to encode' in out and 'Encoded' not in out


def test_new_caption_file_encodes_only_new_captions(tmp_path, caption_root, capsys):
    tool = load_tool()
    cache_root = str(tmp_path / 'cache')
    tool.main(['--data-root', caption_root, '--cache-root', cache_root, '--encoder-options', *TINY])
    txt = tmp_path / 'more.txt'
    txt.write_text('a dog\na green triangle\n')
    capsys.readouterr()
    tool.main(['--caption-file', str(txt), '--cache-root', cache_root, '--encoder-options', *TINY])
    out = capsys.readouterr().out
    assert '1 already cached' in out and 'Encoded 1 new captions' in out


def test_config_gives_encoder_cache_root_and_data_root(tmp_path, caption_root, capsys):
    tool = load_tool()
    cfg = tmp_path / 'cfg.py'
    cache_root = str(tmp_path / 'cfg_cache')
    cfg.write_text(f"text_encoder = dict(type='CLIPCaptionEncoder', width=16, layers=1, heads=2, embed_dim=8)\n"
                   f"text_cache_root = {cache_root!r}\n"
                   f"train_dataloader = dict(dataset=dict(data_root={caption_root!r}))\n")
    assert tool.main(['--config', str(cfg)]) == 0
    assert 'Encoded 6 new captions' in capsys.readouterr().out
    cache = TextEmbeddingCache(cache_root, tiny_encoder().cache_key())
    assert all(cache.contains(c) for c in UNIQUE)


def test_bad_caption_files(tmp_path):
    tool = load_tool()
    with pytest.raises(FileNotFoundError, match='no caption file'):
        tool.find_caption_file(str(tmp_path))
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps({'clip_x': {'video': 'v', 'frames': ['f']}}))
    with pytest.raises(ValueError, match=r"bad.json\": clip \"clip_x\": missing key\(s\) \['segments'\]"):
        tool.read_captions(str(bad))
    bad.write_text('{not json')
    with pytest.raises(ValueError, match='not valid JSON'):
        tool.read_captions(str(bad))


def test_command_line_run(tmp_path, caption_root):
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join([REPO] + ([env['PYTHONPATH']] if env.get('PYTHONPATH') else []))
    proc = subprocess.run([sys.executable, TOOL, '--data-root', caption_root, '--cache-root',
                           str(tmp_path / 'cache'), '--encoder-options', *TINY],
                          capture_output=True, text=True, env=env, timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert 'Encoded 6 new captions' in proc.stdout
