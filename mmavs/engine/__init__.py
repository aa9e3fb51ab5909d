"""Running trained models: checkpoint loading for evaluation."""
from .model_checkpoint import CheckpointMatch, load_model_checkpoint, match_state_dicts

__all__ = ['CheckpointMatch', 'load_model_checkpoint', 'match_state_dicts']
