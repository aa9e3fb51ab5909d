"""Read the parameters and buffers of a TorchScript archive without running any of its code.

OpenAI distributes CLIP (``ViT-B-16.pt``) as a TorchScript archive. ``torch.jit.load`` compiles the
archive's ``code/`` and runs it (a class's ``__setstate__`` runs while loading), so a crafted archive can
write files or worse. This reader never compiles or runs that code. It reads the archive as data:

* ``<archive>/data.pkl`` is a pickle of the module tree. It is unpickled with an allow-list: the
  ``__torch__.*`` classes of the archive become inert :class:`ScriptObjectState` records of their
  attribute dict, tensors are rebuilt with ``torch._utils._rebuild_tensor_v2`` from the raw storage files
  ``<archive>/data/<key>``, and any other global (``os.system``, ``builtins.eval``, ...) is refused.
* Which attributes are parameters or buffers is read from the class declarations in ``code/`` as text
  (``__parameters__ = [...]`` / ``__buffers__ = [...]``, parsed with :func:`ast.literal_eval`), which is
  how ``torch.jit.load(...).state_dict()`` names them.

No well-kept library reads TorchScript archives without compiling them (``torch.load`` dispatches them to
``torch.jit.load``, and refuses them with ``weights_only=True``), hence this module. The result equals
``torch.jit.load(path).state_dict()`` for archives whose modules keep their default state (every
``nn.Module`` converted by ``torch.jit.script`` / ``torch.jit.trace``); a class with its own
``__getstate__`` stores an unnamed state and is refused with a ``ValueError``.
"""
import ast
import pickle
import re
import zipfile
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch
from torch import Tensor

StateDict = Dict[str, Tensor]

#: Legacy storage class names that TorchScript pickles write, and the element type of each.
_STORAGE_DTYPES: Dict[str, torch.dtype] = {
    'FloatStorage': torch.float32, 'DoubleStorage': torch.float64, 'HalfStorage': torch.float16,
    'BFloat16Storage': torch.bfloat16, 'LongStorage': torch.int64, 'IntStorage': torch.int32,
    'ShortStorage': torch.int16, 'CharStorage': torch.int8, 'ByteStorage': torch.uint8,
    'BoolStorage': torch.bool, 'ComplexFloatStorage': torch.complex64, 'ComplexDoubleStorage': torch.complex128,
}


class ScriptObjectState:
    """Inert stand-in for an object of a ``__torch__.*`` class: only its qualified name and state.

    Attributes:
        qualname (str): TorchScript class name, e.g. ``'__torch__.torch.nn.modules.linear.Linear'``.
        state (Any): What the pickle stored for it: the attribute dict for ordinary modules.
    """

    qualname = ''

    def __init__(self) -> None:  # never called by pickle (NEWOBJ uses __new__)
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        """Record the state; nothing of the archive runs."""
        self.state = state


def _identity_tag(value: Any, *_: Any) -> Any:
    """``torch.jit._pickle.restore_type_tag(value, type_str)``: the value itself."""
    return value


def _build_list(values: Any) -> list:
    """``torch.jit._pickle.build_{int,double,bool,tensor}list(values)``: a plain list."""
    return list(values)


class _Storage:
    """Raw bytes of one ``data/<key>`` entry, typed by the storage class named in the pickle."""

    def __init__(self, tensor: Tensor) -> None:
        self.tensor = tensor  # 1-D, the storage's dtype


class _ArchiveUnpickler(pickle.Unpickler):
    """Unpickler of ``data.pkl`` that only builds tensors, plain containers and inert script objects."""

    _JIT_HELPERS: Dict[str, Callable] = {
        'restore_type_tag': _identity_tag,
        'build_intlist': _build_list,
        'build_doublelist': _build_list,
        'build_boollist': _build_list,
        'build_tensorlist': _build_list,
    }

    def __init__(self, file: Any, archive: zipfile.ZipFile, prefix: str, source: str) -> None:
        super().__init__(file)
        self._archive = archive
        self._prefix = prefix
        self._source = source
        self._storages: Dict[str, _Storage] = {}
        self._classes: Dict[str, type] = {}

    def find_class(self, module: str, name: str) -> Any:
        if module == '__torch__' or module.startswith('__torch__.'):
            qualname = f'{module}.{name}'
            if qualname not in self._classes:
                self._classes[qualname] = type(name, (ScriptObjectState, ), {'qualname': qualname})
            return self._classes[qualname]
        if (module, name) in (('torch._utils', '_rebuild_tensor_v2'), ('torch._utils', '_rebuild_tensor')):
            return self._rebuild_tensor
        if (module, name) == ('collections', 'OrderedDict'):
            return OrderedDict
        if module == 'torch.jit._pickle' and name in self._JIT_HELPERS:
            return self._JIT_HELPERS[name]
        if module == 'torch' and name in _STORAGE_DTYPES:
            return _STORAGE_DTYPES[name]
        raise ValueError(f'{self._source}: the TorchScript archive refers to {module}.{name}, which is not a '
                         f'tensor, a container or a module of the archive; refusing to read it.')

    def persistent_load(self, pid: Any) -> _Storage:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == 'storage'
                and isinstance(pid[1], torch.dtype)):
            raise ValueError(f'{self._source}: unsupported storage reference {pid!r} in the TorchScript archive.')
        _, dtype, key, _location, numel = pid
        if key not in self._storages:
            entry = f'{self._prefix}data/{key}'
            try:
                raw = bytearray(self._archive.read(entry))
            except KeyError:
                raise ValueError(f'{self._source}: the TorchScript archive lacks its storage {entry!r}.') from None
            itemsize = torch.empty((), dtype=dtype).element_size()
            if len(raw) != int(numel) * itemsize:
                raise ValueError(f'{self._source}: storage {entry!r} holds {len(raw)} bytes, expected '
                                 f'{numel} x {itemsize}.')
            flat = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
            self._storages[key] = _Storage(flat)
        return self._storages[key]

    def _rebuild_tensor(self, storage: _Storage, offset: int, size: Tuple[int, ...], stride: Tuple[int, ...],
                        *_: Any) -> Tensor:
        """Tensor view ``[*size]`` with ``stride`` at ``offset`` into ``storage`` (bounds-checked)."""
        if not isinstance(storage, _Storage):
            raise ValueError(f'{self._source}: malformed tensor record in the TorchScript archive.')
        size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
        if len(size) != len(stride) or any(s < 0 for s in size + stride) or offset < 0:
            raise ValueError(f'{self._source}: malformed tensor shape {size} / stride {stride}.')
        extent = offset + sum((n - 1) * s for n, s in zip(size, stride)) + 1 if all(size) else 0
        if extent > storage.tensor.numel():
            raise ValueError(f'{self._source}: a tensor of shape {size} reaches past its storage '
                             f'({storage.tensor.numel()} elements).')
        return storage.tensor.as_strided(size, stride, offset)


_DECLARATION = re.compile(r'^\s+__(parameters|buffers)__\s*=\s*(\[.*\])\s*$')


def _declared_tensors(archive: zipfile.ZipFile, prefix: str, qualname: str,
                      cache: Dict[str, Optional[List[str]]]) -> Optional[List[str]]:
    """Names in ``__parameters__`` + ``__buffers__`` of a class, read from its source text in ``code/``.

    Returns None when the declaration cannot be found (then every tensor attribute counts).
    """
    if qualname in cache:
        return cache[qualname]
    module, _, name = qualname.rpartition('.')
    entry = f'{prefix}code/{module.replace(".", "/")}.py'
    names: Optional[List[str]] = None
    try:
        lines = archive.read(entry).decode('utf-8').splitlines()
    except (KeyError, UnicodeDecodeError):
        lines = []
    inside = False
    for line in lines:
        if line.startswith('class '):
            inside = re.match(rf'class {re.escape(name)}\b', line) is not None
            continue
        match = _DECLARATION.match(line) if inside else None
        if match:
            try:
                declared = ast.literal_eval(match.group(2))
            except (ValueError, SyntaxError):
                continue
            names = (names or []) + [str(n) for n in declared]
    cache[qualname] = names
    return names


def _archive_prefix(archive: zipfile.ZipFile, source: str) -> str:
    """The archive's top folder (``'ViT-B-16/'``), found from its single ``data.pkl`` entry."""
    tops = [n[:-len('data.pkl')] for n in archive.namelist()
            if n.endswith('data.pkl') and n.count('/') == 1]
    if len(tops) != 1 or f'{tops[0]}constants.pkl' not in archive.namelist():
        raise ValueError(f'{source}: not a TorchScript archive (expected one <name>/data.pkl entry beside '
                         f'<name>/constants.pkl).')
    return tops[0]


def _collect(obj: Any, name: str, archive: zipfile.ZipFile, prefix: str, source: str, out: StateDict,
             cache: Dict[str, Optional[List[str]]], seen: set) -> None:
    """Add the tensors of module ``obj`` (own tensors first, then its children, as ``state_dict``)."""
    if not isinstance(obj, ScriptObjectState):
        raise ValueError(f'{source}: the archive root is a {type(obj).__name__}, not a module.')
    if id(obj) in seen:
        raise ValueError(f'{source}: module {name or "<root>"} appears twice in its own module tree.')
    seen.add(id(obj))
    if not isinstance(obj.state, dict):
        raise ValueError(f'{source}: module {name.rstrip(".") or "<root>"} ({obj.qualname}) stores a custom '
                         f'state ({type(obj.state).__name__}), so its tensors cannot be named without running '
                         f'the archive\'s code; refusing it.')
    declared = _declared_tensors(archive, prefix, obj.qualname, cache)
    children = []
    for key, value in obj.state.items():
        if isinstance(value, Tensor) and (declared is None or key in declared):
            out[f'{name}{key}'] = value
        elif isinstance(value, ScriptObjectState):
            children.append((f'{name}{key}.', value))
    for child_name, child in children:
        _collect(child, child_name, archive, prefix, source, out, cache, seen)


def read_torchscript_state_dict(path: str) -> StateDict:
    """The ``state_dict()`` of a TorchScript archive, read without running the archive's code.

    Args:
        path (str): TorchScript zip archive (e.g. OpenAI CLIP ``ViT-B-16.pt``).

    Returns:
        dict[str, Tensor]: Dotted parameter / buffer names (``'transformer.resblocks.0.attn.in_proj_weight'``)
        to CPU tensors of the stored dtypes (fp16 for OpenAI CLIP), as ``torch.jit.load(path).state_dict()``
        names them.

    Raises:
        ValueError: The file is not a TorchScript archive, refers to anything but tensors, containers and
            its own module classes, is big-endian, or a module stores a custom (unnamed) state.
    """
    with zipfile.ZipFile(path) as archive:
        prefix = _archive_prefix(archive, path)
        try:
            byteorder = archive.read(f'{prefix}byteorder').decode().strip()
        except KeyError:
            byteorder = 'little'
        if byteorder != 'little':
            raise ValueError(f'{path}: {byteorder}-endian TorchScript archives are not supported.')
        with archive.open(f'{prefix}data.pkl') as f:
            try:
                root = _ArchiveUnpickler(f, archive, prefix, path).load()
            except (pickle.UnpicklingError, EOFError, TypeError) as err:
                raise ValueError(f'{path}: malformed TorchScript data.pkl ({type(err).__name__}: {err}).') from err
        out: StateDict = OrderedDict()
        _collect(root, '', archive, prefix, path, out, {}, set())
    return out
