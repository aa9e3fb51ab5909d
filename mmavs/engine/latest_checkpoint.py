"""Find the checkpoint to resume from in a work dir, also after the work dir was moved.

MMEngine's ``last_checkpoint`` file holds the absolute path of the latest checkpoint, and stock
``Runner`` opens that path as is: a work dir that was moved or copied (another disk, another machine)
cannot be resumed. :func:`find_resume_checkpoint` reads the file with MMEngine's
``find_latest_checkpoint`` and, when the stored path does not exist, looks for the checkpoint of the same
name in the work dir (a relative path is taken relative to the work dir).
"""
import logging
import os.path as osp
from typing import Optional

from mmengine.logging import print_log
from mmengine.runner import find_latest_checkpoint


def _is_local(path: str) -> bool:
    return '://' not in path


def find_resume_checkpoint(work_dir: str) -> Optional[str]:
    """Return the checkpoint named by ``<work_dir>/last_checkpoint``, or None if there is none.

    Args:
        work_dir (str): The work dir of the run to resume.

    Returns:
        str | None: The path of an existing checkpoint file (or the stored URI of a remote one); None
        when ``last_checkpoint`` is missing or empty, or names a local file that exists neither where
        it says nor in ``work_dir``.
    """
    if not osp.isfile(osp.join(work_dir, 'last_checkpoint')):
        return None
    stored = find_latest_checkpoint(work_dir)
    if not stored:
        return None
    if not _is_local(stored):
        return stored
    candidates = [stored] if osp.isabs(stored) else []
    candidates += [osp.join(work_dir, stored), osp.join(work_dir, osp.basename(stored))]
    for candidate in candidates:
        if osp.isfile(candidate):
            if candidate != stored:
                print_log(
                    f'last_checkpoint names {stored}, which does not exist; resuming from {candidate} '
                    '(the work dir was moved).',
                    logger='current', level=logging.WARNING)
            return osp.abspath(candidate)
    return None
