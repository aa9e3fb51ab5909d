"""Capture and restore the random state of a training process (one rank).

The state holds everything a train epoch draws from: the global torch generator (model noise such as
the counterfactual branch's ``randn``, dropout, the data loader's base seed for its workers), the CUDA
generators when CUDA is available, numpy's and Python's global generators (transforms running in the
main process), and the seeds of the train data loader (the seed MMEngine's ``worker_init_fn`` gives the
workers, the sampler's shuffling seed and the loader's own ``generator`` if it has one).

Every value is a tensor, a number, a string, a tuple/list/dict of those, or None, so the state loads
with ``torch.load(weights_only=True)``.
"""
import functools
import logging
import random
from typing import Any, Dict, Optional

import numpy as np
import torch
from mmengine.logging import print_log

#: Version of the layout returned by :func:`capture_rng_state`.
RNG_STATE_VERSION = 1


def _sampler_with_seed(loader: Any) -> Optional[Any]:
    """The loader's sampler that carries an integer ``seed`` (MMEngine's DefaultSampler), if any."""
    for sampler in (getattr(loader, 'sampler', None),
                    getattr(getattr(loader, 'batch_sampler', None), 'sampler', None)):
        if isinstance(getattr(sampler, 'seed', None), int):
            return sampler
    return None


def _worker_seed(loader: Any) -> Optional[int]:
    init_fn = getattr(loader, 'worker_init_fn', None)
    if isinstance(init_fn, functools.partial) and isinstance(init_fn.keywords.get('seed'), int):
        return init_fn.keywords['seed']
    return None


def _loader_state(loader: Any) -> Dict[str, Any]:
    sampler = _sampler_with_seed(loader)
    generator = getattr(loader, 'generator', None)
    return dict(
        worker_seed=_worker_seed(loader),
        sampler_seed=None if sampler is None else sampler.seed,
        generator=None if generator is None else generator.get_state())


def capture_rng_state(loader: Optional[Any] = None) -> Dict[str, Any]:
    """Return the random state of this process (and of ``loader``'s seeds).

    Args:
        loader (torch.utils.data.DataLoader, optional): The train data loader whose seeds to record.

    Returns:
        dict: ``version``, ``torch``, ``cuda`` (list or None), ``numpy``, ``python`` and ``loader``.
    """
    np_state = np.random.get_state(legacy=False)
    return dict(
        version=RNG_STATE_VERSION,
        torch=torch.get_rng_state(),
        cuda=torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        numpy=dict(
            bit_generator=np_state['bit_generator'],
            key=torch.from_numpy(np_state['state']['key'].astype(np.int64)),
            pos=int(np_state['state']['pos']),
            has_gauss=int(np_state['has_gauss']),
            gauss=float(np_state['gauss'])),
        python=random.getstate(),
        loader=None if loader is None else _loader_state(loader))


def _restore_loader(loader: Any, state: Dict[str, Any]) -> None:
    worker_seed = state.get('worker_seed')
    init_fn = getattr(loader, 'worker_init_fn', None)
    if worker_seed is not None and _worker_seed(loader) not in (None, worker_seed):
        loader.worker_init_fn = functools.partial(
            init_fn.func, *init_fn.args, **{**init_fn.keywords, 'seed': worker_seed})
    sampler = _sampler_with_seed(loader)
    if state.get('sampler_seed') is not None and sampler is not None:
        sampler.seed = state['sampler_seed']
    if state.get('generator') is not None and getattr(loader, 'generator', None) is not None:
        loader.generator.set_state(state['generator'])


def restore_rng_state(state: Dict[str, Any], loader: Optional[Any] = None) -> None:
    """Re-establish a state returned by :func:`capture_rng_state`.

    Args:
        state (dict): The captured state.
        loader (torch.utils.data.DataLoader, optional): The train data loader whose seeds to set.
    """
    torch.set_rng_state(state['torch'])
    cuda = state.get('cuda')
    if cuda is not None:
        if torch.cuda.is_available() and torch.cuda.device_count() == len(cuda):
            torch.cuda.set_rng_state_all(cuda)
        else:
            print_log(
                f'The saved RNG state has {len(cuda)} CUDA generator(s), this process sees '
                f'{torch.cuda.device_count() if torch.cuda.is_available() else 0}: CUDA random numbers '
                'will differ from the interrupted run.',
                logger='current', level=logging.WARNING)
    np_state = state['numpy']
    np.random.set_state(
        dict(bit_generator=np_state['bit_generator'],
             state=dict(key=np_state['key'].numpy().astype(np.uint32), pos=np_state['pos']),
             has_gauss=np_state['has_gauss'], gauss=np_state['gauss']))
    version, internal, gauss_next = state['python']
    random.setstate((version, tuple(internal), gauss_next))
    if loader is not None and state.get('loader') is not None:
        _restore_loader(loader, state['loader'])
