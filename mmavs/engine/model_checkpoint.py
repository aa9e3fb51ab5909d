"""Load a trained model's checkpoint for evaluation: strictly, or partially only when asked.

MMEngine's ``load_from`` loads non-strictly: tensors whose names or shapes do not match stay at their
initialisation and the run goes on with an untagged "do not match" log block, so a checkpoint of another
architecture (an ICF checkpoint on a baseline config, a 1-class S4 checkpoint on the 71-class AVSS config,
another number of queries) would be scored as if it were the model. :func:`load_model_checkpoint` compares
the checkpoint with the model first and raises a ``ValueError`` listing every missing, unexpected and
mis-shaped key, unless ``allow_partial`` is set, in which case it loads what fits and says loudly what did
not. Files are read through MMEngine's loader, which mmavs makes weights-only
(:mod:`mmavs.utils.safe_load`).
"""
import logging
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner.checkpoint import _load_checkpoint
from torch import Tensor, nn

#: How many names of each kind an error message lists (the counts are always complete).
_LISTED = 20


@dataclass
class CheckpointMatch:
    """How a checkpoint's state dict fits a model's.

    Attributes:
        missing (list[str]): Model keys that the checkpoint lacks.
        unexpected (list[str]): Checkpoint keys that the model lacks.
        mismatched (list[tuple[str, tuple, tuple]]): ``(key, checkpoint shape, model shape)`` of keys in
            both with different shapes.
        loaded (int): Number of keys that fit (name and shape).
    """
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    mismatched: List[Tuple[str, Tuple[int, ...], Tuple[int, ...]]] = field(default_factory=list)
    loaded: int = 0

    @property
    def complete(self) -> bool:
        """bool: Every model key is set from a checkpoint tensor of its shape and nothing is left over."""
        return not (self.missing or self.unexpected or self.mismatched)

    def describe(self) -> str:
        """Counts and (up to 20 of each) names of the missing, unexpected and mis-shaped keys."""
        def names(items: list) -> str:
            more = f', ... ({len(items) - _LISTED} more)' if len(items) > _LISTED else ''
            return ', '.join(items[:_LISTED]) + more

        parts = []
        if self.missing:
            parts.append(f'{len(self.missing)} missing key(s) (in the model, not in the checkpoint): '
                         f'{names(self.missing)}')
        if self.unexpected:
            parts.append(f'{len(self.unexpected)} unexpected key(s) (in the checkpoint, not in the model): '
                         f'{names(self.unexpected)}')
        if self.mismatched:
            parts.append(f'{len(self.mismatched)} shape mismatch(es): ' + names(
                [f'{k} checkpoint {list(a)} vs model {list(b)}' for k, a, b in self.mismatched]))
        return '; '.join(parts)


def match_state_dicts(model_state: Dict[str, Tensor], checkpoint_state: Dict[str, Tensor]) -> CheckpointMatch:
    """Compare key names and shapes of a model's and a checkpoint's state dicts.

    Args:
        model_state (dict[str, Tensor]): ``model.state_dict()``.
        checkpoint_state (dict[str, Tensor]): The checkpoint's state dict (prefixes already removed).

    Returns:
        CheckpointMatch: Missing, unexpected and mis-shaped keys (sorted) and the number that fit.
    """
    match = CheckpointMatch()
    match.missing = sorted(k for k in model_state if k not in checkpoint_state)
    match.unexpected = sorted(k for k in checkpoint_state if k not in model_state)
    for key in sorted(set(model_state) & set(checkpoint_state)):
        want, got = tuple(model_state[key].shape), tuple(checkpoint_state[key].shape)
        if want != got:
            match.mismatched.append((key, got, want))
        else:
            match.loaded += 1
    return match


def checkpoint_state_dict(checkpoint: dict, source: str) -> Dict[str, Tensor]:
    """The model state dict of a loaded checkpoint (``state_dict`` entry, ``module.`` prefix removed).

    Args:
        checkpoint (dict): Loaded checkpoint (MMEngine training checkpoint or a bare state dict).
        source (str): File name for messages.

    Returns:
        dict[str, Tensor]: Parameter and buffer tensors by name.

    Raises:
        ValueError: The checkpoint holds no tensors.
    """
    state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict) or not state or not all(isinstance(v, Tensor) for v in state.values()):
        raise ValueError(f'Checkpoint {source!r} holds no model state dict (a dict of tensors, or one under '
                         f'"state_dict").')
    if all(k.startswith('module.') for k in state):
        state = {k[len('module.'):]: v for k, v in state.items()}
    return dict(state)


def load_model_checkpoint(model: nn.Module, filename: str, allow_partial: bool = False,
                          logger: str = 'current') -> CheckpointMatch:
    """Load ``filename`` into ``model``: strictly, or what fits when ``allow_partial``.

    Args:
        model (nn.Module): The model (a DDP / MMEngine wrapper is unwrapped).
        filename (str): Checkpoint path (any MMEngine scheme; read weights-only).
        allow_partial (bool): Load the keys that fit and log a warning naming the rest instead of raising.
            Defaults to False.
        logger (str): MMEngine logger name. Defaults to ``'current'``.

    Returns:
        CheckpointMatch: How the checkpoint fitted (``complete`` unless ``allow_partial`` let it through).

    Raises:
        ValueError: The checkpoint does not fit the model and ``allow_partial`` is False (the message lists
            the keys), or it holds no state dict.
    """
    if is_model_wrapper(model):
        model = model.module
    state = checkpoint_state_dict(_load_checkpoint(filename, map_location='cpu', logger=logger), filename)
    match = match_state_dicts(model.state_dict(), state)
    if not match.complete:
        summary = (f'Checkpoint {filename!r} does not fit the model ({type(model).__name__}): '
                   f'{match.describe()}.')
        if not allow_partial:
            raise ValueError(f'{summary} Evaluating it would score a partly randomly initialised model. Use '
                             f'the config the checkpoint was trained with, or pass --allow-partial to '
                             f'evaluate anyway (the output then says the model is partial).')
        print_log(f'PARTIAL CHECKPOINT (--allow-partial): {summary} Only {match.loaded} tensors were loaded; '
                  f'the rest keep their initialisation.', logger=logger, level=logging.WARNING)
    bad = set(match.unexpected) | {k for k, _, _ in match.mismatched}
    model.load_state_dict({k: v for k, v in state.items() if k not in bad}, strict=match.complete)
    print_log(f'loaded {match.loaded} tensors from {filename}'
              f'{"" if match.complete else " (partial)"}', logger=logger)
    return match
