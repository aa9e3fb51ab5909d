"""Tests of the captioner registry (mmavs.registry.CAPTIONERS) and build_captioner."""
import importlib.util
import json
import os.path as osp

import pytest
from mmengine.registry import Registry

from mmavs.captioning import (BaseCaptioner, ClipToCaption, ImportCaptioner, LocalModelCaptioner,
                              build_captioner, captioner_names)
from mmavs.datasets.caption_windows import segment_windows
from mmavs.registry import CAPTIONERS

TOOL = osp.join(osp.dirname(__file__), '..', '..', 'tools', 'dataset_converters',
                'generate_captions.py')
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


def _tool():
    spec = importlib.util.spec_from_file_location('generate_captions_tool_registry', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_registered_backend_is_offered_by_the_tool(s4_root, tmp_path):
    name = 'test-constant'

    @CAPTIONERS.register_module(name=name)
    class ConstantCaptioner(BaseCaptioner):

        def __init__(self, text: str) -> None:
            self.text = text

        def caption_clip(self, clip):
            count = len(clip.frame_paths)
            return dict(video=self.text, segments=[self.text] * len(segment_windows(count, clip.window)),
                        frames=[f'{self.text} {t}' for t in range(count)])

    tool = _tool()
    out = str(tmp_path / 'caps.json')
    try:
        assert name in captioner_names()
        tool.main(['--subset', 's4', '--data-root', s4_root, '--out', out, '--backend', name,
                   '--backend-args', 'text=hello'])
    finally:
        CAPTIONERS.module_dict.pop(name)
    with open(out, encoding='utf-8') as f:
        written = json.load(f)
    assert written and all(entry == dict(video='hello', segments=['hello'] * 2,
                                         frames=[f'hello {t}' for t in range(5)])
                           for entry in written.values())
    assert name not in captioner_names()
    with pytest.raises(SystemExit):
        tool.parse_args(['--subset', 's4', '--data-root', s4_root, '--backend', name])
