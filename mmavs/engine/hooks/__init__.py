"""Runner hooks (registered in ``mmavs.registry.HOOKS``)."""
from .atomic_checkpoint_hook import AtomicCheckpointHook, write_last_checkpoint
from .rng_state_hook import RNG_STATE_KEY, RNGStateHook
from .save_pred_masks_hook import SavePredMasksHook, results_zip_name
from .visualization_hook import AVSVisualizationHook

__all__ = ['AtomicCheckpointHook', 'RNGStateHook', 'RNG_STATE_KEY', 'SavePredMasksHook', 'results_zip_name',
           'write_last_checkpoint', 'AVSVisualizationHook']
