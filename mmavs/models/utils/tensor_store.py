"""On-disk store of small tensor entries, one file per name, under an identity (the frozen encoder's).

Both frozen-encoder caches use it: caption embeddings (:class:`~mmavs.models.text.TextEmbeddingCache`) and
VGGish embeddings (:class:`~mmavs.models.backbones.AudioEmbeddingCache`). Layout under ``root``::

    {identity dir}/IDENTITY.txt            the full identity (encoder key; written once)
    {identity dir}/{h[:2]}/{h}.pt          one file per name

``identity dir`` is the identity made filesystem-safe plus a short hash of it, ``h`` is
``sha256(identity + '\\0' + name)``. Each file is ``torch.save`` of a dict of tensors and strings, read back with
``torch.load(..., weights_only=True)`` (no code runs from a cache file); the name is stored in the entry under
``name_key`` and checked on load. Files are written atomically (temporary file + rename), so concurrent
writers (DDP ranks) cannot leave half-written entries. The text cache keeps its historical file name for the
identity file, ``ENCODER_KEY.txt``.
"""
import hashlib
import json
import os
import os.path as osp
import re
import tempfile
from typing import Callable, Dict, Optional

import torch
from torch import nn

#: ``check(entry) -> None or a sentence saying what is wrong with it``.
EntryCheck = Callable[[dict], Optional[str]]


def module_digest(module: nn.Module, config: dict) -> str:
    """sha256 hex of ``config`` (JSON) and every state-dict tensor's name, shape, dtype and bytes.

    Two modules get the same digest exactly when they have the same configuration and weights, so embeddings
    made with random weights are never served after pretrained ones are loaded.
    """
    h = hashlib.sha256(json.dumps(config, sort_keys=True).encode())
    for name, tensor in sorted(module.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        h.update(f'{name}:{tuple(t.shape)}:{t.dtype}'.encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b'')
    return h.hexdigest()


class TensorFileStore:
    """Entries (dicts of tensors) by name, on disk under ``root`` and optionally in memory.

    Args:
        root (str): Root folder (created when the first entry is written).
        identity (str): What made the entries (a non-empty str); entries of other identities live elsewhere.
        name_key (str): Entry field holding the name (checked on load).
        owner (str): Class name for the messages.
        identity_file (str): File name of the identity record. Defaults to 'IDENTITY.txt'.
        in_memory (bool): Keep loaded / saved entries in a dict too. Defaults to False.
    """

    def __init__(self, root: str, identity: str, name_key: str, owner: str, identity_file: str = 'IDENTITY.txt',
                 in_memory: bool = False) -> None:
        if not isinstance(identity, str) or not identity:
            raise ValueError(f'{owner}: the cache identity must be a non-empty str, got {identity!r}.')
        self.root, self.identity, self.name_key, self.owner = str(root), identity, name_key, owner
        safe = re.sub(r'[^A-Za-z0-9._-]', '_', identity)[:64]
        self.identity_dir = osp.join(self.root, f'{safe}-{hashlib.sha256(identity.encode()).hexdigest()[:8]}')
        self.identity_file = identity_file
        self.in_memory = in_memory
        self._memory: Dict[str, dict] = {}

    def path_for(self, name: str) -> str:
        """Path of the file of ``name`` (whether it exists or not)."""
        h = hashlib.sha256(f'{self.identity}\0{name}'.encode('utf-8')).hexdigest()
        return osp.join(self.identity_dir, h[:2], f'{h}.pt')

    def contains(self, name: str) -> bool:
        """Whether ``name`` is stored (in memory or on disk)."""
        return name in self._memory or osp.isfile(self.path_for(name))

    def load(self, name: str, check: EntryCheck) -> dict:
        """The entry of ``name`` without its name field (CPU tensors).

        Raises:
            FileNotFoundError: ``name`` is not stored.
            ValueError: The file is unreadable, holds another name, or ``check`` finds it wrong (the message names
                the file and says to delete it).
        """
        if name in self._memory:
            return self._memory[name]
        path = self.path_for(name)
        if not osp.isfile(path):
            raise FileNotFoundError(f'{self.owner}: no cache file for {self.name_key} {name!r} ({path}).')
        try:
            entry = torch.load(path, map_location='cpu', weights_only=True)
        except Exception as err:  # any unpickling / zip error means the file is corrupt
            raise ValueError(f'{self.owner}: corrupt cache file {path} ({type(err).__name__}: {err}); delete it to '
                             'have it recomputed.') from err
        if not isinstance(entry, dict):
            problem = f'expected a dict, got {type(entry).__name__}'
        elif entry.get(self.name_key) != name:
            problem = f'it holds {self.name_key} {entry.get(self.name_key)!r}, expected {name!r}'
        else:
            problem = check(entry)
        if problem is not None:
            raise ValueError(f'{self.owner}: invalid cache file {path}: {problem}; delete it to have it recomputed.')
        out = {k: v for k, v in entry.items() if k != self.name_key}
        if self.in_memory:
            self._memory[name] = out
        return out

    def save(self, name: str, entry: Dict[str, torch.Tensor]) -> str:
        """Store the tensors of ``entry`` under ``name`` (atomically); returns the file's path."""
        entry = {k: v.detach().cpu().contiguous().clone() for k, v in entry.items()}
        path = self.path_for(name)
        os.makedirs(osp.dirname(path), exist_ok=True)
        record = osp.join(self.identity_dir, self.identity_file)
        if not osp.isfile(record):
            with open(record, 'w', encoding='utf-8') as f:
                f.write(self.identity + '\n')
        fd, tmp = tempfile.mkstemp(dir=osp.dirname(path), suffix='.tmp')
        try:
            with os.fdopen(fd, 'wb') as f:
                torch.save(dict(entry, **{self.name_key: name}), f)
            os.replace(tmp, path)
        except BaseException:
            if osp.exists(tmp):
                os.remove(tmp)
            raise
        if self.in_memory:
            self._memory[name] = entry
        return path
