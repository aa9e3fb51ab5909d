"""Crafted files for the security tests: each one creates a marker file if anything executes it.

* :func:`write_code_pickle` — a ``torch.save`` checkpoint whose pickle calls ``os.mkdir(marker)`` when it
  is unpickled by a full (not weights-only) unpickler.
* :func:`write_code_archive` — a TorchScript archive whose class ``__setstate__`` calls
  ``torch.from_file(marker, shared=True, size=4)`` (which creates the file) when ``torch.jit.load`` runs it.
"""
import os
from typing import Tuple

import torch


class _MakesDirectory:
    """Unpickles as ``os.mkdir(path)``."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return os.mkdir, (self.path, )


def write_code_pickle(path: str, marker: str) -> str:
    """A checkpoint with a plausible state dict plus an object that runs ``os.mkdir(marker)`` on load."""
    torch.save({'state_dict': {'weight': torch.zeros(2)}, 'meta': _MakesDirectory(marker)}, path)
    return path


class _SetstateWritesFile(torch.nn.Module):
    """Scripted module whose ``__setstate__`` creates ``path`` (TorchScript runs it inside torch.jit.load)."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self.token_embedding = torch.nn.Parameter(torch.randn(10, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.token_embedding[x]

    @torch.jit.export
    def __getstate__(self) -> Tuple[str, torch.Tensor, bool]:
        return self.path, self.token_embedding, self.training

    @torch.jit.export
    def __setstate__(self, state: Tuple[str, torch.Tensor, bool]) -> None:
        created = torch.from_file(state[0], shared=True, size=4)
        self.path = state[0] + str(created.numel())
        self.token_embedding = state[1]
        self.training = state[2]


def write_code_archive(path: str, marker: str) -> str:
    """A TorchScript archive that creates ``marker`` when ``torch.jit.load`` reads it."""
    torch.jit.save(torch.jit.script(_SetstateWritesFile(marker)), path)
    assert not os.path.exists(marker)
    return path
