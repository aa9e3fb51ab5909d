"""The visual-bias probe: an MS3-layout set whose training data carries a visual shortcut.

AVS models are said to lean on vision and under-use sound (the premise of ICF's semantic counterfactual, and
what AVSBench-Robust measures). On the benchmarks the two cannot be told apart, because the sounding object is
usually also the visually salient one. This probe separates them. Every clip shows two objects of different
categories and clearly different sizes, and in each non-silent frame exactly one of them sounds
(:mod:`mmavs.datasets.synthetic.scenes`, ``larger_sounds_prob``):

- ``root/Multi-sources`` (the MS3 layout): *train* and *val*, where the sounding object is the larger one with
  probability ``shortcut_prob`` (default 0.9), and *test*, where it always is (**shortcut-following**);
- ``root/shortcut_contradict/Multi-sources``: only a *test* split where the sounding object is always the
  smaller one (**shortcut-contradicting**). Its clips are the shortcut-following test clips themselves (same
  ids, frames and silent frames; generated from the same random streams), with the other object sounding, so
  the two test splits differ in the sound and the ground truth only.

A model that segments by sound scores alike on both test splits; one that learned "segment the larger object"
scores well on the first and collapses on the second, and a purely visual model predicts the same masks on
both. Train on the first root, test on both::

    python tools/test.py CONFIG CKPT --cfg-options test_dataloader.dataset.data_root=ROOT/Multi-sources
    python tools/test.py CONFIG CKPT \\
        --cfg-options test_dataloader.dataset.data_root=ROOT/shortcut_contradict/Multi-sources
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence

from .generator import generate_avsbench
from .layouts import MS3_DIRNAME

#: Sub-directory of the probe's root holding the shortcut-contradicting test split.
CONTRADICT_DIRNAME = 'shortcut_contradict'


def visual_bias_roots(root: str) -> Dict[str, str]:
    """Data roots (the ``Multi-sources`` directories) of the probe written under ``root``.

    Returns:
        dict: ``'follow'`` (train / val / shortcut-following test) and ``'contradict'`` (test only).
    """
    return {
        'follow': osp.join(root, MS3_DIRNAME),
        'contradict': osp.join(root, CONTRADICT_DIRNAME, MS3_DIRNAME),
    }


def generate_visual_bias_probe(root: str,
                               num_train: int = 320,
                               num_val: int = 24,
                               num_test: int = 40,
                               size: int = 64,
                               seed: int = 0,
                               shortcut_prob: float = 0.9,
                               categories: Optional[Sequence[str]] = None,
                               silent_prob: float = 0.15,
                               caption_mode: str = 'visual',
                               overwrite: bool = False,
                               progress: bool = False,
                               workers: int = 1) -> Dict[str, List[Dict[str, object]]]:
    """Write the visual-bias probe (see the module docstring) under ``root``.

    Args:
        root (str): Output directory (gets ``Multi-sources`` and ``shortcut_contradict/Multi-sources``).
        num_train (int): Train clips (shortcut strength ``shortcut_prob``).
        num_val (int): Val clips (shortcut strength ``shortcut_prob``).
        num_test (int): Clips of each test split (>= 1).
        size (int): Frame side in pixels (>= 16).
        seed (int): Random seed.
        shortcut_prob (float): Probability in [0, 1] that a train / val frame's sounding object is the larger.
        categories (Sequence[str], optional): S4 category names to draw from (at least 3); all when None.
        silent_prob (float): Probability that a frame has no sounding object.
        caption_mode (str): MIT caption mode (``'visual'`` or ``'audio-visual'``).
        overwrite (bool): Replace an existing probe under ``root``.
        progress (bool): Show progress bars.
        workers (int): Processes writing clips (see :func:`generate_avsbench`). Defaults to 1.

    Returns:
        dict: The manifests (see :func:`generate_avsbench`) of ``'follow'`` and ``'contradict'``.

    Raises:
        ValueError: ``shortcut_prob`` outside [0, 1] or ``num_test`` < 1 (and what ``generate_avsbench``
            refuses).
        FileExistsError: The probe exists and ``overwrite`` is False.
    """
    if isinstance(shortcut_prob, bool) or not isinstance(shortcut_prob, (int, float)) or not (
            0.0 <= shortcut_prob <= 1.0):
        raise ValueError(f'generate_visual_bias_probe: shortcut_prob must be a number in [0, 1], got '
                         f'{shortcut_prob!r}.')
    if int(num_test) != num_test or num_test < 1:
        raise ValueError(f'generate_visual_bias_probe: num_test must be a positive integer, got {num_test!r}.')
    common = dict(subset='ms3', num_train=num_train, num_val=num_val, num_test=num_test, size=size, seed=seed,
                  categories=categories, silent_prob=silent_prob, caption_mode=caption_mode, overwrite=overwrite,
                  progress=progress, workers=workers)
    follow = generate_avsbench(
        root, larger_sounds_prob=dict(train=float(shortcut_prob), val=float(shortcut_prob), test=1.0), **common)
    contradict = generate_avsbench(
        osp.join(root, CONTRADICT_DIRNAME), larger_sounds_prob=dict(test=0.0), splits=('test', ), **common)
    return {'follow': follow, 'contradict': contradict}
