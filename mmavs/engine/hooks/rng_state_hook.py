"""Make a resumed run reproduce the uninterrupted one: the RNG state goes into the checkpoints.

Stock MMEngine checkpoints carry no random state: a run resumed from a checkpoint continues with freshly
seeded generators, so a model that draws random numbers while training (the counterfactual branch of
ICF, dropout, random transforms) diverges from the run that was not interrupted. Restoring the state only
when resuming is not enough either: in ``EpochBasedTrainLoop`` the checkpoint is written in
``after_train_epoch`` and the validation loop runs *after* it, drawing from the generators (e.g. the val
data loader draws its workers' base seed from the torch generator), which a resumed run never does.

:class:`RNGStateHook` therefore defines one point at which both runs agree:

* at the end of every train epoch it captures the random state of every rank
  (:func:`mmavs.engine.rng_state.capture_rng_state`); every checkpoint written before the next epoch
  starts (the periodic one, the last one, best checkpoints and the re-save that follows them) stores
  it under :data:`RNG_STATE_KEY`;
* at the start of every train epoch it re-establishes the state of the previous epoch end, from memory
  in a running process, from the checkpoint in a resumed one. Validation and the other hooks in between
  therefore leave no trace on training (also not validation that runs between two checkpoints and, in
  a resumed run, starts its persistent workers where the uninterrupted run reuses them);
* after an epoch that ended with a checkpoint it also restarts the train loader's persistent workers,
  so that both runs start the next epoch with fresh workers seeded the same way (MMEngine's
  ``worker_init_fn`` seeds them from the run's seed, independently of the epoch: after a checkpoint
  they replay the random stream they had in the first epoch).

Cases it cannot make exact are named in a warning, once: checkpoints written in the middle of a train
epoch (iteration-based saving or loop; MMEngine's ``EpochBasedTrainLoop`` restarts such an epoch from its
first batch anyway), checkpoints without an RNG state (written without this hook), a world size that
differs from the one that wrote the checkpoint, and devices other than CPU and CUDA (their generators
are not saved). On GPUs, exact equality also needs deterministic kernels
(``randomness=dict(seed=..., deterministic=True)``).
"""
import logging
from typing import Any, Dict, Optional

from mmengine.device import get_device
from mmengine.dist import all_gather_object, broadcast_object_list, get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log

from mmavs.registry import HOOKS

from ..rng_state import capture_rng_state, restore_rng_state

#: Key of the saved RNG states in a checkpoint: ``dict(world_size=int, ranks=[state of rank 0, ...])``.
RNG_STATE_KEY = 'rng_state'


def _restart_persistent_workers(loader: Any) -> bool:
    """Shut down ``loader``'s persistent worker processes so that its next ``iter`` starts new ones.

    Returns:
        bool: Whether workers were running.
    """
    # torch keeps the persistent iterator in the private ``_iterator`` attribute and creates a new one
    # (new workers, base seed drawn from the torch generator) when it is None.
    iterator = getattr(loader, '_iterator', None)
    if iterator is None:
        return False
    loader._iterator = None
    shutdown = getattr(iterator, '_shutdown_workers', None)
    if shutdown is not None:
        shutdown()
    return True


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Save the random state in checkpoints and re-establish it at the next train epoch start.

    Enabled for every mmavs config in ``configs/_base_/default_runtime.py`` (``default_hooks.rng_state``;
    MMEngine does not let a ``default_hooks`` key of its own be set to None). Its priority is
    ``VERY_HIGH`` so that the state is captured before the other ``after_train_epoch`` hooks (the
    checkpoint hook among them) and restored before the other ``before_train_epoch`` hooks run.
    """

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._snapshot: Optional[Dict[str, Any]] = None  # dict(iter=..., own=..., ranks=[...])
        self._saved_iter: Optional[int] = None  # train iteration of the last epoch-end checkpoint
        self._loaded: Optional[Dict[str, Any]] = None
        self._resumed: Optional[Dict[str, Any]] = None
        self._warned: set = set()

    def _warn_once(self, key: str, message: str) -> None:
        if key in self._warned:
            return
        self._warned.add(key)
        print_log(message, logger='current', level=logging.WARNING)

    @staticmethod
    def _train_loader(runner) -> Any:
        return getattr(runner.train_loop, 'dataloader', None)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Keep the loaded checkpoint's RNG state; :meth:`before_train` decides whether it resumes."""
        self._loaded = dict(iter=checkpoint.get('meta', {}).get('iter'),
                            state=checkpoint.get(RNG_STATE_KEY))

    def before_train(self, runner) -> None:
        """When the run resumed from a checkpoint, pick this rank's saved state for the first epoch."""
        device = get_device()
        if device not in ('cpu', 'cuda'):
            self._warn_once(
                'device',
                f'RNGStateHook saves the CPU and CUDA generators only, not those of the {device} device: '
                f'random numbers drawn on {device} after resuming differ from the uninterrupted run.')
        loaded, self._loaded = self._loaded, None
        if loaded is None or not runner.iter or loaded['iter'] != runner.iter:
            return  # a fresh run, or weights loaded with ``load_from`` (not resumed)
        state = loaded['state']
        if state is None:
            self._warn_once(
                'no_state',
                'The resumed checkpoint has no RNG state (it was written without RNGStateHook): the '
                'resumed run draws other random numbers than the interrupted run would have, so its '
                'results will differ from an uninterrupted run.')
            return
        if state['world_size'] != get_world_size():
            self._warn_once(
                'world_size',
                f'The resumed checkpoint holds the RNG states of {state["world_size"]} process(es), '
                f'this run has {get_world_size()}: the RNG states are not restored and the run will not '
                'reproduce an uninterrupted one.')
            return
        self._resumed = state['ranks'][get_rank()]

    def after_train_epoch(self, runner) -> None:
        """Capture the state of every rank at the end of the epoch (before any checkpoint is written)."""
        own = capture_rng_state(self._train_loader(runner))
        self._snapshot = dict(iter=runner.iter, own=own, ranks=all_gather_object(own))

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Put the state captured at this epoch end into the checkpoint (called on rank 0 only)."""
        meta_iter = checkpoint.get('meta', {}).get('iter')
        snapshot = self._snapshot
        if snapshot is not None and snapshot['iter'] == meta_iter == runner.iter:
            checkpoint[RNG_STATE_KEY] = dict(world_size=len(snapshot['ranks']), ranks=snapshot['ranks'])
            self._saved_iter = runner.iter
            return
        self._warn_once(
            'mid_epoch',
            f'A checkpoint is saved at iteration {meta_iter}, not at the end of a train epoch: it holds '
            'no RNG state, and resuming from it does not reproduce an uninterrupted run (for exact '
            'resumption train with EpochBasedTrainLoop and save with CheckpointHook(by_epoch=True)).')

    def before_train_epoch(self, runner) -> None:
        """Re-establish the state of the previous epoch end (or of the resumed checkpoint).

        What ran in between (validation, other hooks) then leaves no trace on training. After an epoch
        that ended with a checkpoint the train loader's persistent workers are restarted, as a run
        resumed from that checkpoint starts new ones.
        """
        loader = self._train_loader(runner)
        if self._resumed is not None:
            state, self._resumed = self._resumed, None
            _restart_persistent_workers(loader)
            restore_rng_state(state, loader)
            return
        saved = [self._snapshot is not None and self._saved_iter == self._snapshot['iter']]
        broadcast_object_list(saved, src=0)  # only rank 0 sees the checkpoints being written
        if self._snapshot is None:
            return
        state, self._snapshot = self._snapshot['own'], None
        if saved[0]:
            _restart_persistent_workers(loader)
        restore_rng_state(state, loader)
