"""Runner hooks (registered in ``mmavs.registry.HOOKS``)."""
from .atomic_checkpoint_hook import AtomicCheckpointHook, write_last_checkpoint
from .rng_state_hook import RNG_STATE_KEY, RNGStateHook
from .visualization_hook import AVSVisualizationHook

__all__ = ['AtomicCheckpointHook', 'RNGStateHook', 'RNG_STATE_KEY', 'write_last_checkpoint', 'AVSVisualizationHook']
