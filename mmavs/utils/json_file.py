"""Reading the JSON files tools write (metrics, robustness records) with errors that name the file."""
import json
import os.path as osp


def read_json_object(path: str, owner: str) -> dict:
    """The JSON object stored at ``path``.

    Args:
        path (str): The file.
        owner (str): Who reads it (starts the error messages, e.g. the tool's name).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: The file is not valid JSON, or holds something other than an object.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{owner}: file not found: {path}')
    try:
        with open(path) as f:
            value = json.load(f)
    except json.JSONDecodeError as err:
        raise ValueError(f'{owner}: {path} is not valid JSON ({err})') from err
    if not isinstance(value, dict):
        raise ValueError(f'{owner}: {path} must hold a JSON object, not {type(value).__name__}')
    return value
