"""MMEngine's ``CheckpointHook`` made safe against a kill during a save.

Stock MMEngine 0.10.7 deletes the oldest kept checkpoint (``max_keep_ckpts``) and the previous best
checkpoint *before* writing the new one, writes the new file in place and rewrites ``last_checkpoint`` in
place: a process killed during a save can leave no complete checkpoint, or a ``last_checkpoint`` naming a
missing or partial file. :class:`AtomicCheckpointHook` changes only the order and the way files are
written:

* checkpoints (periodic, last and best) are written atomically on local work dirs (temporary file in the
  same directory, then ``os.replace``, see :mod:`mmavs.engine.atomic_file`);
* ``last_checkpoint`` is written atomically, after its checkpoint is complete;
* outdated checkpoints and the previous best checkpoint are deleted only after the new ones are complete;
* temporary files left by a killed save are deleted when training starts again.

It is registered as ``AtomicCheckpointHook`` and, in the ``mmavs`` scope, also as ``CheckpointHook``, so
configs that say ``type='CheckpointHook'`` get it too; ``type='mmengine.CheckpointHook'`` selects the
stock hook. ``last_checkpoint`` keeps MMEngine's format (the absolute path of the checkpoint), which stock
MMEngine reads as is; :func:`mmavs.engine.find_resume_checkpoint` also finds the checkpoint after the work
dir was moved.
"""
import logging
import os.path as osp
from typing import Any, List, Optional, Set

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log

from mmavs.registry import HOOKS

from ..atomic_file import ATOMIC_BACKEND, atomic_write, remove_stale_temp_files

#: Name of the file in the work dir that names the latest checkpoint (MMEngine's convention).
LAST_CHECKPOINT_FILE = 'last_checkpoint'


def write_last_checkpoint(work_dir: str, checkpoint_path: str) -> None:
    """Atomically write ``<work_dir>/last_checkpoint`` naming ``checkpoint_path`` (MMEngine's format)."""
    atomic_write(osp.join(work_dir, LAST_CHECKPOINT_FILE), checkpoint_path.encode('utf-8'))


def _is_local(path: str) -> bool:
    return '://' not in str(path)


class _DeferredRemovals:
    """Stand-in for a file backend that records ``remove`` / ``rmtree`` calls instead of running them."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.paths: List[str] = []

    def remove(self, path: str) -> None:
        self.paths.append(path)

    def rmtree(self, path: str) -> None:
        self.paths.append(path)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.backend, name)


@HOOKS.register_module(name=['AtomicCheckpointHook', 'CheckpointHook'])
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` that never leaves the work dir without a complete checkpoint.

    Takes the arguments of :class:`mmengine.hooks.CheckpointHook`. Writes are atomic when the checkpoints
    go to a local directory and neither ``backend_args`` nor ``file_client_args`` is given (then the hook
    uses the :class:`~mmavs.engine.atomic_file.AtomicLocalBackend`); with a user-chosen backend it warns
    once that the writes themselves are not atomic, and still deletes old checkpoints only after the new
    one is written.
    """

    def before_train(self, runner) -> None:
        """Choose the atomic backend, then set up as ``CheckpointHook`` does and clean up killed saves."""
        out_dir = self.out_dir if self.out_dir is not None else runner.work_dir
        self.atomic = (self.backend_args is None and self.file_client_args is None
                       and _is_local(str(out_dir)))
        if self.atomic:
            self.backend_args = dict(backend=ATOMIC_BACKEND)
        else:
            print_log(
                'AtomicCheckpointHook: backend_args / file_client_args or a remote out_dir is set, so '
                'checkpoint files are written by that backend and are NOT atomic (a kill during a save '
                'can leave a partial file); old checkpoints are still deleted only after the new one is '
                'written.',
                logger='current', level=logging.WARNING)
        super().before_train(runner)
        if not (self.atomic and is_main_process()):
            return
        for tmp in remove_stale_temp_files(self.out_dir):
            print_log(f'Removed {tmp}, the partial file of a checkpoint save that was interrupted.',
                      logger='current', level=logging.WARNING)
        self._relocate_best_paths()

    def _relocate_best_paths(self) -> None:
        """Point the remembered best checkpoints into ``out_dir`` when the work dir was moved."""

        def relocate(path: Optional[str]) -> Optional[str]:
            if not path or osp.exists(path):
                return path
            moved = osp.join(self.out_dir, osp.basename(path))
            return moved if osp.exists(moved) else path

        if getattr(self, 'best_ckpt_path', None):
            self.best_ckpt_path = relocate(self.best_ckpt_path)
        for key, path in getattr(self, 'best_ckpt_path_dict', {}).items():
            self.best_ckpt_path_dict[key] = relocate(path)

    def _remove_paths(self, paths: List[str], keep: Set[str]) -> None:
        for path in paths:
            if path in keep:
                continue
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):  # checkpoints saved by deepspeed are directories
                self.file_backend.rmtree(path)

    def _current_paths(self) -> Set[str]:
        paths = {self.last_ckpt, getattr(self, 'best_ckpt_path', None)}
        paths.update(getattr(self, 'best_ckpt_path_dict', {}).values())
        return {p for p in paths if p}

    def _save_checkpoint_with_step(self, runner, step: int, meta: dict) -> None:
        """Save the checkpoint of ``step``, then ``last_checkpoint``, then delete the outdated one."""
        outdated: List[str] = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                old_step = self.keep_ckpt_ids.popleft()
                outdated.append(
                    self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(old_step)))
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))

        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir,
            ckpt_filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        write_last_checkpoint(runner.work_dir, self.last_ckpt)
        self._remove_paths(outdated, keep=self._current_paths())

    def _save_best_checkpoint(self, runner, metrics: dict) -> None:
        """Save a new best checkpoint as ``CheckpointHook`` does, deleting the previous best only after."""
        backend = self.file_backend
        deferred = _DeferredRemovals(backend)
        self.file_backend = deferred
        try:
            super()._save_best_checkpoint(runner, metrics)
        finally:
            self.file_backend = backend
        if is_main_process():
            self._remove_paths(deferred.paths, keep=self._current_paths())
