"""Wall time of a segmentor's parts (backbones, text, neck, decoder, losses) from forward hooks.

PyTorch's profiler reports operators, not the model's parts, and MMEngine has no per-module timer, so this is
a small hook-based one: a forward pre-hook and a forward hook on each top-level part record the time between
them (after synchronising the device, so CUDA kernels are counted where they run). Nested parts are not
double-counted because only top-level children of the segmentor are hooked; a part called several times in
one pass (a loss module per loss term) adds up.
"""
import time
from collections import defaultdict
from typing import Callable, Dict, List, Sequence, Tuple

import torch
from torch import nn

#: Part name -> attribute names of the segmentor's children timed under it, in display order.
PART_GROUPS: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
    ('preprocessor', ('data_preprocessor', )),
    ('audio backbone', ('audio_backbone', )),
    ('visual backbone', ('visual_backbone', )),
    ('text', ('text_encoder', 'text_resampler')),
    ('neck', ('neck', )),
    ('decoder', ('decoder', )),
    ('losses', ('losses', 'sc_losses', 'cdcl_loss')),
)

_FORWARD = 'forward'


def device_synchronizer(device: torch.device) -> Callable[[], None]:
    """A function that waits for the device's queued work (a no-op on the CPU)."""
    if device.type == 'cuda':
        return lambda: torch.cuda.synchronize(device)
    return lambda: None


def _modules_of(model: nn.Module, name: str) -> List[nn.Module]:
    """The module(s) of child ``name``: every member of a ModuleList, or the module itself."""
    module = getattr(model, name, None)
    if module is None:
        return []
    if isinstance(module, (nn.ModuleList, nn.Sequential)):
        return list(module)
    return [module]


class PartTimer:
    """Accumulate the forward wall time of a segmentor's parts while it is active.

    Use as a context manager; :attr:`seconds` maps part name -> seconds summed over all calls since
    :meth:`reset`. Parts the model lacks (a baseline has no text) are absent from :attr:`seconds`. With
    ``whole_forward`` the model's own forward (the parts and what runs between them, not the data
    preprocessor) is timed too, as :attr:`forward_seconds`.

    Args:
        model (nn.Module): An ``AVSSegmentor`` (or any module with some of the children of
            :data:`PART_GROUPS`).
        device (torch.device): Where the model runs (to synchronise CUDA around each part).
        groups (Sequence[tuple]): Part name -> child attribute names. Defaults to :data:`PART_GROUPS`.
        whole_forward (bool): Also time ``model.forward``. Defaults to False.
    """

    def __init__(self, model: nn.Module, device: torch.device,
                 groups: Sequence[Tuple[str, Sequence[str]]] = PART_GROUPS, whole_forward: bool = False) -> None:
        self.model = model
        self.sync = device_synchronizer(device)
        self.groups = [(part, tuple(children)) for part, children in groups]
        self.whole_forward = whole_forward
        self.seconds: Dict[str, float] = defaultdict(float)
        self._forward_seconds: Dict[str, float] = defaultdict(float)
        self._handles: list = []
        self._starts: Dict[int, List[float]] = defaultdict(list)

    @property
    def parts(self) -> List[str]:
        """Names of the parts the model has, in display order."""
        return [part for part, children in self.groups if any(_modules_of(self.model, c) for c in children)]

    @property
    def forward_seconds(self) -> float:
        """Seconds in ``model.forward`` (with ``whole_forward``; else 0)."""
        return self._forward_seconds.get(_FORWARD, 0.0)

    def reset(self) -> None:
        """Forget the times recorded so far."""
        self.seconds = defaultdict(float)
        self._forward_seconds = defaultdict(float)

    def _hook(self, part: str, module: nn.Module, into: Dict[str, float]) -> None:
        key = id(module)

        def before(*_args) -> None:
            self.sync()
            self._starts[key].append(time.perf_counter())

        def after(*_args) -> None:
            self.sync()
            into[part] += time.perf_counter() - self._starts[key].pop()

        self._handles += [module.register_forward_pre_hook(before), module.register_forward_hook(after)]

    def __enter__(self) -> 'PartTimer':
        for part, children in self.groups:
            for child in children:
                for module in _modules_of(self.model, child):
                    self._hook(part, module, self.seconds)
        if self.whole_forward:
            self._hook(_FORWARD, self.model, self._forward_seconds)
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
