"""The old caption module paths still import, warn, and hand out the objects of their new homes."""
import importlib
import sys

import pytest

import mmavs.captioning as captioning
import mmavs.datasets.caption_file as caption_file
import mmavs.datasets.caption_windows as caption_windows
import mmavs.datasets.synthetic as synthetic
import mmavs.datasets.synthetic.caption_text as caption_text


def _import_fresh(name: str):
    """Import ``name`` as if for the first time (the deprecation warning fires on import)."""
    sys.modules.pop(name, None)
    with pytest.deprecated_call(match=name.replace('.', r'\.') + ' is deprecated'):
        return importlib.import_module(name)


@pytest.mark.parametrize('old,homes', [
    ('mmavs.datasets.captions', (caption_file, caption_windows)),
    ('mmavs.datasets.captioners', (captioning, )),
    ('mmavs.datasets.synthetic.captions', (caption_text, caption_windows, synthetic)),
])
def test_old_module_reexports_the_new_objects(old, homes):
    module = _import_fresh(old)
    assert module.__all__
    for name in module.__all__:
        value = getattr(module, name)
        assert any(getattr(home, name, None) is value for home in homes), name


def test_one_window_helper_everywhere():
    assert synthetic.segment_windows is caption_windows.segment_windows
    assert caption_text.segment_windows is caption_windows.segment_windows
    assert caption_file.segment_windows is caption_windows.segment_windows
    with pytest.deprecated_call(match='default_segment_window'):
        assert synthetic.segment_window(4, 'avss') == caption_windows.default_segment_window('avss', 4) == 1
    with pytest.deprecated_call():
        assert synthetic.segment_window(8, 's4') == 4
