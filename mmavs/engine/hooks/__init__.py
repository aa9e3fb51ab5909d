"""Runner hooks (registered in ``mmavs.registry.HOOKS``)."""
from .atomic_checkpoint_hook import AtomicCheckpointHook, write_last_checkpoint

__all__ = ['AtomicCheckpointHook', 'write_last_checkpoint']
