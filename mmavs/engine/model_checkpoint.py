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

from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner.checkpoint import _load_checkpoint
from torch import nn

from mmavs.models.utils.checkpoint_keys import CheckpointMatch, match_state_dicts, unwrap_state_dict


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
    checkpoint = _load_checkpoint(filename, map_location='cpu', logger=logger)
    return load_checkpoint_into_model(model, checkpoint, filename, allow_partial=allow_partial, logger=logger)


def load_checkpoint_into_model(model: nn.Module, checkpoint: object, filename: str, allow_partial: bool = False,
                               logger: str = 'current') -> CheckpointMatch:
    """:func:`load_model_checkpoint` for a checkpoint already read (e.g. to use its ``meta`` as well).

    Args:
        model (nn.Module): The model (a DDP / MMEngine wrapper is unwrapped).
        checkpoint (object): What MMEngine's ``_load_checkpoint`` returned for ``filename``.
        filename (str): Where it was read from (for the messages).
        allow_partial (bool): As in :func:`load_model_checkpoint`.
        logger (str): MMEngine logger name. Defaults to ``'current'``.

    Returns:
        CheckpointMatch: How the checkpoint fitted.

    Raises:
        ValueError: As :func:`load_model_checkpoint`.
    """
    if is_model_wrapper(model):
        model = model.module
    state = unwrap_state_dict(checkpoint, filename)
    match = match_state_dicts(model.state_dict(), state)
    if not match.complete:
        summary = (f'Checkpoint {filename!r} does not fit the model ({type(model).__name__}): '
                   f'{match.describe()}.')
        if not allow_partial:
            raise ValueError(f'{summary} Evaluating it would score a partly randomly initialised model. Use '
                             f'the config the checkpoint was trained with, or pass --allow-partial to '
                             f'evaluate anyway (the output then says the model is partial).')
        print_log(f'PARTIAL CHECKPOINT (--allow-partial): {summary} Only {len(match.loaded)} tensors were loaded; '
                  f'the rest keep their initialisation.', logger=logger, level=logging.WARNING)
    bad = set(match.unexpected) | {k for k, _, _ in match.mismatched}
    model.load_state_dict({k: v for k, v in state.items() if k not in bad}, strict=match.complete)
    print_log(f'loaded {len(match.loaded)} tensors from {filename}'
              f'{"" if match.complete else " (partial)"}', logger=logger)
    return match
