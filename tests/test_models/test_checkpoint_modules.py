"""Tests of the layout of mmavs.models.utils: one job per module, imports pointing one way, old paths kept."""
import ast
import importlib
import os
import os.path as osp
import subprocess
import sys
import warnings

import pytest
import torch
from torch import nn

import mmavs.models.utils as utils
from mmavs.models.utils import checkpoint_keys, load_pretrained, target_kind

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
UTILS = osp.join(REPO, 'mmavs', 'models', 'utils')


def _imported_modules(path: str) -> set:
    """Every module a file imports, at any level (absolute names; relative ones resolved in the package)."""
    names = set()
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = 'mmavs.models.utils.' if node.level == 1 else ''
            names.add(base + (node.module or ''))
    return names


@pytest.mark.parametrize('name', ['checkpoint_keys', 'checkpoint_file', 'pretrained_init', 'torchscript_archive'])
def test_the_modules_the_backbones_use_import_no_model(name):
    imported = _imported_modules(osp.join(UTILS, f'{name}.py'))
    models = {m for m in imported if m.startswith(('mmavs.models.backbones', 'mmavs.models.text',
                                                   'mmavs.models.segmentors', 'mmavs.models.utils.checkpoint_conv',
                                                   'mmavs.models.utils.converter_cli'))}
    assert models == set()


def test_key_conversion_is_pure():
    imported = _imported_modules(osp.join(UTILS, 'checkpoint_keys.py'))
    assert not {m for m in imported if m.startswith('mmavs') or m.startswith(('mmengine', 'mmseg', 'os'))}


def test_the_backbones_import_the_initializer_not_the_converter():
    for rel in ('backbones/audio_backbone.py', 'backbones/visual_backbone.py', 'text/clip_text_encoder.py'):
        imported = _imported_modules(osp.join(REPO, 'mmavs', 'models', rel))
        assert 'mmavs.models.utils.pretrained_init' in imported, rel
        assert not any('checkpoint_converter' in m or 'checkpoint_loading' in m for m in imported), rel


def test_the_converter_imports_first_in_a_fresh_interpreter():
    code = ('import sys, mmavs.models.utils.checkpoint_converter as c; import mmavs.models.utils as u; '
            'assert u.convert_file is c.convert_file; '
            'import mmavs.models.backbones as b; assert b.AudioBackbone.pretrained_kind == "vggish"; print("ok")')
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join([REPO] + ([env['PYTHONPATH']] if env.get('PYTHONPATH') else []))
    proc = subprocess.run([sys.executable, '-c', code], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == 'ok', proc.stderr[-3000:]


def test_converter_names_are_exported_lazily():
    from mmavs.models.utils import checkpoint_converter
    for name in ('build_target_module', 'check_hash_prefix', 'convert_file', 'infer_pvt_v2_arch'):
        assert getattr(utils, name) is getattr(checkpoint_converter, name)
        assert name in utils.__all__
    with pytest.raises(AttributeError, match='no attribute'):
        utils.no_such_name  # noqa: B018


def test_the_old_module_path_still_works_and_warns():
    sys.modules.pop('mmavs.models.utils.checkpoint_loading', None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        old = importlib.import_module('mmavs.models.utils.checkpoint_loading')
    assert any(issubclass(w.category, DeprecationWarning) and 'checkpoint_loading is deprecated' in str(w.message)
               for w in caught)
    for name in ('load_pretrained', 'convert_checkpoint', 'detect_family', 'convert_file', 'AVSPretrainedInit',
                 'load_state_dict_file', 'load_state_dict_strict', 'pretrained_init_cfg', 'target_kind',
                 'FAMILY_SIGNATURES', 'TARGET_FAMILIES'):
        assert getattr(old, name) is (getattr(utils, name) if hasattr(utils, name)
                                      else getattr(checkpoint_keys, name)), name


class _TinyVGGish(nn.Module):
    """Not an mmavs class: declares the checkpoint kind it takes by the attribute alone."""

    pretrained_kind = 'vggish'

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 2, 3))
        self.embeddings = nn.Sequential(nn.Linear(2, 2))


def test_targets_are_recognised_by_their_attribute():
    from mmseg.models.backbones import ResNet

    from mmavs.models.backbones import AudioBackbone, VisualBackbone
    from mmavs.models.text import CLIPCaptionEncoder
    assert target_kind(_TinyVGGish()) == 'vggish'
    assert target_kind(nn.Linear(2, 2)) is None
    assert target_kind(VisualBackbone('pvt_v2_b0').body) == 'pvt_v2'
    assert target_kind(VisualBackbone('resnet18').body) == 'resnet'
    assert target_kind(ResNet(depth=18)) == 'resnet'  # third-party class: recognised by class
    assert target_kind(VisualBackbone('resnet18')) is None  # the wrapper delegates (pretrained_body)
    assert target_kind(AudioBackbone(channels=(4, ) * 6, embed_dims=(8, 8, 8))) == 'vggish'
    clip = CLIPCaptionEncoder(width=8, layers=1, heads=1, vocab_size=16, context_length=4)
    assert target_kind(clip) == 'clip_text'
    sd = {'features.0.weight': torch.ones(2, 1, 3, 3), 'features.0.bias': torch.ones(2),
          'embeddings.0.weight': torch.ones(2, 2), 'embeddings.0.bias': torch.ones(2)}
    module = _TinyVGGish()
    report = load_pretrained(module, sd)
    assert sorted(report.loaded) == sorted(sd) and torch.equal(module.embeddings[0].weight, torch.ones(2, 2))
    with pytest.raises(ValueError, match='missing key'):  # strict, like every target
        load_pretrained(_TinyVGGish(), {k: v for k, v in sd.items() if k != 'embeddings.0.bias'})


def test_the_wrapper_prefix_is_removed_only_from_a_wrappers_dict():
    t = torch.zeros(1)
    assert checkpoint_keys.unwrap_state_dict({'module.a': t, 'module.b': t}) == {'a': t, 'b': t}
    # unlike MMEngine's per-key revise_keys, a dict that is not a wrapper's keeps its names
    assert set(checkpoint_keys.unwrap_state_dict({'module.a': t, 'b': t})) == {'module.a', 'b'}
    assert checkpoint_keys.strip_prefix({'text.a': t, 'visual.b': t}, 'text.') == {'a': t}


def test_every_conversion_target_has_a_module_builder():
    from mmavs.models.utils.checkpoint_converter import _BUILDERS
    from mmavs.models.utils.pretrained_init import ALLOWED_MISSING
    assert set(_BUILDERS) == set(checkpoint_keys.TARGET_FAMILIES) == set(ALLOWED_MISSING)
    with pytest.raises(ValueError, match='Unknown conversion target'):
        utils.build_target_module({}, 'pvt_v1')
