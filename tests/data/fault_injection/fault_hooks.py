"""Test-only hooks that kill the training process at chosen points (loaded with ``custom_imports``).

- ``SigkillAfterCheckpointHook(epoch)``: ``kill -9`` of the process itself right after the checkpoint of
  train epoch ``epoch`` (1-based) was written, i.e. after every ``after_train_epoch`` hook of that epoch and
  before validation.
- ``FileSizeLimitAtSaveHook(save, limit_bytes)``: from the ``save``-th checkpoint save on (1-based), no
  file may grow beyond ``limit_bytes``; the kernel kills the process (SIGXFSZ) in the middle of writing
  a larger checkpoint.
"""
import os
import resource
import signal

from mmengine.hooks import Hook

from mmavs.registry import HOOKS


@HOOKS.register_module()
class SigkillAfterCheckpointHook(Hook):
    priority = 'LOWEST'  # after the checkpoint hook (VERY_LOW)

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def after_train_epoch(self, runner) -> None:
        if runner.epoch + 1 == self.epoch:
            os.kill(os.getpid(), signal.SIGKILL)


@HOOKS.register_module()
class FileSizeLimitAtSaveHook(Hook):
    priority = 'LOWEST'

    def __init__(self, save: int, limit_bytes: int) -> None:
        self.save = save
        self.limit_bytes = limit_bytes
        self.saves = 0

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        self.saves += 1
        if self.saves == self.save:
            # the default action of SIGXFSZ terminates the process
            signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
            resource.setrlimit(resource.RLIMIT_FSIZE, (self.limit_bytes, resource.RLIM_INFINITY))
