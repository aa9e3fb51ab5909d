"""read_json_object: the file's object, or an error naming the file and the problem."""
import pytest

from mmavs.utils.json_file import read_json_object


def test_reads_an_object_and_names_the_file_otherwise(tmp_path) -> None:
    good = tmp_path / 'm.json'
    good.write_text('{"a": 1.5, "b": [1, 2]}')
    assert read_json_object(str(good), 'tool') == {'a': 1.5, 'b': [1, 2]}
    with pytest.raises(FileNotFoundError, match=r'tool: file not found: .*none\.json'):
        read_json_object(str(tmp_path / 'none.json'), 'tool')
    (tmp_path / 'bad.json').write_text('{"a": ')
    with pytest.raises(ValueError, match=r'tool: .*bad\.json is not valid JSON'):
        read_json_object(str(tmp_path / 'bad.json'), 'tool')
    (tmp_path / 'list.json').write_text('[1, 2]')
    with pytest.raises(ValueError, match=r'list\.json must hold a JSON object, not list'):
        read_json_object(str(tmp_path / 'list.json'), 'tool')
