"""Oracles shared by the metric tests: loop-based re-statements of the AVSBench evaluation code.

Fixtures rather than an importable module because the suite runs with ``--import-mode=importlib``.
"""
from typing import Callable

import pytest
import torch


def avsbench_thresholds() -> torch.Tensor:
    """The 255 thresholds of the AVSBench F measure, by the reference's own expression (float32)."""
    return torch.linspace(0, 1 - 1e-10, 255)


def avsbench_f_curve(prob: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """One frame's F curve [255], one threshold at a time in float32, as the AVSBench code computes it.

    Args:
        prob (Tensor): Foreground probabilities [H, W].
        target (Tensor): 0/1 ground truth [H, W].
    """
    thresholds = avsbench_thresholds()
    target = target.float()
    precision, recall = torch.zeros(255), torch.zeros(255)
    for i in range(255):
        positive = (prob >= thresholds[i]).float()
        tp = (positive * target).sum()
        precision[i] = tp / (positive.sum() + 1e-20)
        recall[i] = tp / (target.sum() + 1e-20)
    f = (1 + 0.3) * precision * recall / (0.3 * precision + recall)
    f[f != f] = 0
    return f


@pytest.fixture
def reference_thresholds() -> torch.Tensor:
    """:func:`avsbench_thresholds`."""
    return avsbench_thresholds()


@pytest.fixture
def reference_f_curve() -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """:func:`avsbench_f_curve`."""
    return avsbench_f_curve
