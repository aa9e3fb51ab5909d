"""Tests of the captioner registry (mmavs.registry.CAPTIONERS) and build_captioner."""
import json

import pytest
from mmengine.registry import Registry

from mmavs.captioning import ClipToCaption, ImportCaptioner, LocalModelCaptioner, build_captioner, captioner_names
from mmavs.registry import CAPTIONERS

ENTRY = dict(video='v', segments=['s'], frames=['f1', 'f2'])


def test_registry_is_an_mmavs_scoped_mmengine_registry():
    assert isinstance(CAPTIONERS, Registry)
    assert CAPTIONERS.scope == 'mmavs' and CAPTIONERS.parent is None
    assert CAPTIONERS.get('import') is ImportCaptioner
    assert CAPTIONERS.get('local-model') is LocalModelCaptioner
    assert captioner_names() == ['import', 'local-model']


def test_config_style_build_matches_build_captioner(tmp_path):
    source = str(tmp_path / 'caps.json')
    with open(source, 'w', encoding='utf-8') as f:
        json.dump({'clip': ENTRY}, f)
    clip = ClipToCaption('clip', ['a.jpg', 'b.jpg'], window=3)
    built = CAPTIONERS.build(dict(type='import', source=source))
    direct = build_captioner('import', source=source)
    assert isinstance(built, ImportCaptioner) and isinstance(direct, ImportCaptioner)
    assert built.caption_clip(clip) == direct.caption_clip(clip) == ENTRY


def test_backend_errors_reach_the_caller_unchanged(tmp_path):
    missing = str(tmp_path / 'missing.json')
    with pytest.raises(FileNotFoundError) as err:
        build_captioner('import', source=missing)
    assert str(err.value) == f'ImportCaptioner: caption source "{missing}" does not exist'
    with pytest.raises(KeyError, match=r"unknown captioner backend 'nope'; available: \['import', "
                                       r"'local-model'\]"):
        build_captioner('nope')
