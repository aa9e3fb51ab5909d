"""The frozen VGGish embedding cache: same outputs as without it, each sound embedded once, keyed by the
weights, bad files named."""
import os

import pytest
import torch

from mmavs.models.backbones import AudioBackbone
from mmavs.models.backbones.audio_cache import AudioEmbeddingCache

TINY = dict(channels=(4, 4, 8, 8, 8, 8), embed_dims=(16, 16, 8), out_channels=5)


def _pair(tmp_path, seed=0):
    torch.manual_seed(seed)
    plain = AudioBackbone(**TINY)
    cached = AudioBackbone(cache_root=str(tmp_path / 'cache'), **TINY)
    cached.load_state_dict(plain.state_dict())
    return plain, cached


def _files(root):
    return sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if f.endswith('.pt'))


def test_cached_embeddings_equal_uncached_and_vggish_runs_once_per_sound(tmp_path, monkeypatch):
    plain, cached = _pair(tmp_path)
    audio = torch.randn(3, 2, 1, 96, 64)
    audio[2] = audio[0]  # the same sound twice in the batch
    calls = []
    vggish = cached.vggish
    monkeypatch.setattr(cached, 'vggish', lambda x: calls.append(x.shape[0]) or vggish(x))
    torch.testing.assert_close(cached(audio), plain(audio))
    assert calls == [4]  # 2 distinct clips x 2 examples, in one call
    assert len(_files(tmp_path / 'cache')) == 2 and cached.cache.misses == 2
    out = cached(audio)
    assert calls == [4] and cached.cache.hits == 1 + 3  # the duplicate, then all three: nothing embedded again
    torch.testing.assert_close(out, plain(audio))
    # a new process (new module, same weights) reads the files written by the first
    fresh = AudioBackbone(cache_root=str(tmp_path / 'cache'), **TINY)
    fresh.load_state_dict(plain.state_dict())
    monkeypatch.setattr(fresh, 'vggish', lambda x: pytest.fail('embedded again'))
    torch.testing.assert_close(fresh(audio), plain(audio))
    # 4-D input: one-example clips
    torch.testing.assert_close(cached(audio[0]), plain(audio[0]))


def test_projection_still_trains_and_other_weights_get_other_entries(tmp_path):
    plain, cached = _pair(tmp_path)
    audio = torch.randn(2, 2, 1, 96, 64)
    cached.train()
    cached(audio).sum().backward()
    assert cached.proj.weight.grad is not None and cached.features[0].weight.grad is None
    key = cached.cache_key()
    other = {k: v + 1 if k.startswith('features.0') else v for k, v in plain.state_dict().items()}
    cached.load_state_dict(other)  # new VGGish weights: a new identity, the old entries are not served
    assert cached.cache_key() != key
    reference = AudioBackbone(**TINY)
    reference.load_state_dict(other)
    torch.testing.assert_close(cached(audio), reference(audio))
    assert len(_files(tmp_path / 'cache')) == 4


def test_bad_use_and_bad_files(tmp_path):
    with pytest.raises(ValueError, match='frozen=False'):
        AudioBackbone(frozen=False, cache_root=str(tmp_path), **TINY)
    _, cached = _pair(tmp_path)
    audio = torch.randn(1, 2, 1, 96, 64)
    cached(audio)
    path, = _files(tmp_path / 'cache')
    with open(path, 'wb') as f:
        f.write(b'not a torch file')
    again = AudioBackbone(cache_root=str(tmp_path / 'cache'), **TINY)
    again.load_state_dict(cached.state_dict())
    with pytest.raises(ValueError, match='corrupt cache file .*' + os.path.basename(path)):
        again(audio)
    cache = AudioEmbeddingCache(str(tmp_path / 'c2'), 'id')
    path = cache.store.save('x', dict(embedding=torch.zeros(3, 4)))
    cache = AudioEmbeddingCache(str(tmp_path / 'c2'), 'id')  # read from disk, not from the in-memory copy
    with pytest.raises(ValueError, match=r"'embedding' must be a \[2, E\] tensor"):  # a clip of 2 examples
        cache.store.load('x', cache._check(2))
    os.makedirs(os.path.dirname(cache.store.path_for('y')), exist_ok=True)
    os.replace(path, cache.store.path_for('y'))  # a mixed-up file
    with pytest.raises(ValueError, match="holds examples 'x', expected 'y'"):
        cache.store.load('y', cache._check(3))
    with pytest.raises(ValueError, match=r'must be \[B, T, 1, 96, 64\]'):
        cache.get_or_compute(torch.zeros(2, 1, 96, 64), lambda x: x)
