"""Read a pretrained checkpoint file safely into a flat state dict.

Pickled checkpoints go through :func:`mmavs.utils.safe_load.safe_torch_load` (``torch.load`` with
``weights_only=True`` and the mmavs allow-list, whatever torch's default). TorchScript archives (OpenAI's
CLIP ``ViT-B-16.pt``) are refused unless the caller asks for them (only the offline CLIP conversion does);
then :func:`~mmavs.models.utils.torchscript_archive.read_torchscript_state_dict` reads their tensors as
data and never runs the archive's code (``torch.jit.load`` would).

Files are read with ``safe_torch_load`` directly rather than through MMEngine's ``CheckpointLoader`` (which
mmavs makes weights-only as well): the TorchScript check and the ``FileNotFoundError`` pointing to
``docs/model_zoo.md`` have to come before anything is handed to ``torch.load``.
"""
import os.path as osp
import zipfile

from mmavs.utils.safe_load import safe_torch_load

from .checkpoint_keys import MODEL_ZOO_DOC, StateDict, unwrap_state_dict
from .torchscript_archive import read_torchscript_state_dict


def missing_file_message(path: str) -> str:
    """The message of a ``FileNotFoundError`` for a pretrained checkpoint (points to the model zoo page)."""
    return (f'Pretrained checkpoint not found: {path!r}. See {MODEL_ZOO_DOC} for where to download each '
            f'checkpoint, its file name and where to put it (pretrained/).')


def is_torchscript_archive(path: str) -> bool:
    """Whether ``path`` is a TorchScript zip archive (has ``code/`` and ``constants.pkl`` entries)."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
    return any(n.endswith('constants.pkl') for n in names) and any('/code/' in n for n in names)


def load_state_dict_file(path: str, map_location: str = 'cpu', allow_torchscript: bool = False) -> StateDict:
    """Read a checkpoint safely and return its flat state dict.

    Args:
        path (str): Checkpoint file (``.pth`` / ``.pt`` / ``.bin``).
        map_location (str): Device for the tensors. Defaults to ``'cpu'``.
        allow_torchscript (bool): Accept a TorchScript archive (OpenAI's ``ViT-B-16.pt``). Its tensors are
            read as data by :func:`read_torchscript_state_dict`; the archive's code is never compiled or
            run (``torch.jit.load`` would run it). Off by default: only the CLIP conversion enables it.

    Returns:
        dict[str, Tensor]: The state dict (``state_dict`` / ``model`` containers and ``module.`` unwrapped,
        see :func:`~mmavs.models.utils.checkpoint_keys.unwrap_state_dict`).

    Raises:
        FileNotFoundError: The file does not exist (the message points to ``docs/model_zoo.md``).
        ValueError: The file is not a weights-only checkpoint or holds no tensors.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(missing_file_message(path))
    if is_torchscript_archive(path):
        if not allow_torchscript:
            raise ValueError(f'{path!r} is a TorchScript archive (e.g. OpenAI CLIP ViT-B-16.pt). Convert it '
                             f'first: python tools/model_converters/clip.py {path} pretrained/<name>.pth '
                             f'(or tools/model_converters/convert.py --family clip; see {MODEL_ZOO_DOC}).')
        state = read_torchscript_state_dict(path)
        return unwrap_state_dict({k: v.to(map_location) for k, v in state.items()}, path)
    return unwrap_state_dict(safe_torch_load(path, map_location=map_location), path)
