"""Compute rate of a segmentor's parts, and the device's dense-arithmetic ceiling.

A part's time says what it costs; its FLOPs divided by its time says whether that cost is arithmetic (a rate
near the device's ceiling: only fewer FLOPs make it cheaper) or overhead (small operators, memory traffic,
Python between kernels: a better implementation can). The ceiling is measured, not taken from a data sheet:
the faster of a large matrix product and a large convolution in the inference dtype (:func:`dense_peak_gflops`),
the fastest dense arithmetic the device gives PyTorch. From both follows the lowest ``total / visual backbone``
ratio that any implementation of the same non-backbone FLOPs could reach next to the measured backbone.

FLOPs follow MMEngine's convention (one fused multiply-add is one FLOP), so the ceiling counts one
multiply-add of the product as one FLOP too.
"""
import statistics
import time
from typing import Dict, Mapping, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

from .parts import PART_GROUPS, device_synchronizer


def _median_seconds(fn, repeats: int, sync) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls after one untimed call."""
    times = []
    for i in range(repeats + 1):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        if i:
            times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    if seconds <= 0:
        raise RuntimeError('rates: the clock did not advance during a timed product')
    return seconds


def dense_peak_gflops(device: torch.device, dtype: torch.dtype = torch.float32, size: int = 2048,
                      repeats: int = 5) -> Dict[str, float]:
    """Rates of the device's two dense primitives, GFLOPs / s (multiply-adds / 1e9 / s), and their maximum.

    PyTorch runs a matrix product (``torch.mm``, ``nn.Linear``) and a convolution through different libraries
    (on the CPU: a BLAS, MKL in the PyPI wheels, and oneDNN; on CUDA: cuBLAS and cuDNN), which need not reach
    the same rate on one device, so both are measured and the faster one is the ceiling:

    - ``matmul``: ``torch.mm`` of two ``[size, size]`` matrices;
    - ``conv``: a 3 x 3 convolution, 256 -> 256 channels, on ``[4, 256, 56, 56]`` in channels-last layout
      (the shape of a stride-4 neck map of a 224 px frame).

    Args:
        device (torch.device): Where to compute.
        dtype (torch.dtype): Element type (the inference dtype: float32, or the autocast dtype).
        size (int): Matrix side of the product. Defaults to 2048.
        repeats (int): Timed calls of each after one untimed. Defaults to 5.

    Returns:
        dict[str, float]: ``matmul``, ``conv`` and ``peak`` (the larger), GFLOPs / s.
    """
    if size < 1 or repeats < 1:
        raise ValueError(f'dense_peak_gflops: size and repeats must be >= 1, got {size}, {repeats}')
    sync = device_synchronizer(device)
    a = torch.randn(size, size, device=device).to(dtype)
    b = torch.randn(size, size, device=device).to(dtype)
    out = torch.empty(size, size, device=device, dtype=dtype)
    rates = dict(matmul=size**3 / _median_seconds(lambda: torch.mm(a, b, out=out), repeats, sync) / 1e9)
    maps = torch.randn(4, 256, 56, 56, device=device).to(dtype).contiguous(memory_format=torch.channels_last)
    weight = torch.randn(256, 256, 3, 3, device=device).to(dtype).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        seconds = _median_seconds(lambda: F.conv2d(maps, weight, padding=1), repeats, sync)
    rates['conv'] = 4 * 56 * 56 * 256 * 256 * 9 / seconds / 1e9
    rates['peak'] = max(rates['matmul'], rates['conv'])
    return rates


def part_flops(module_flops: Mapping[str, float],
               groups: Sequence[Tuple[str, Sequence[str]]] = PART_GROUPS) -> Dict[str, float]:
    """FLOPs of the timed parts from FLOPs of the segmentor's children.

    Args:
        module_flops (Mapping[str, float]): Child attribute name -> GFLOPs (``flops_per_clip(...)['parts']``;
            members of a ModuleList appear as ``name.i``).
        groups (Sequence[tuple]): Part name -> child attribute names. Defaults to :data:`PART_GROUPS`.

    Returns:
        dict[str, float]: Part name -> GFLOPs, for the parts with counted FLOPs. A child of no part (a custom
        segmentor's extra module) counts under ``'other'``, where the part timer puts its time too.
    """
    owner = {child: part for part, children in groups for child in children}
    out: Dict[str, float] = {}
    for name, gflops in module_flops.items():
        part = owner.get(name.split('.')[0], 'other')
        out[part] = out.get(part, 0.0) + gflops
    return out


def inference_rates(module_flops: Mapping[str, float], part_seconds: Mapping[str, float],
                    dense: Optional[Mapping[str, float]] = None) -> Dict[str, object]:
    """Rate of every part with FLOPs and time, and the ratio the non-backbone FLOPs allow at the ceiling.

    Args:
        module_flops (Mapping[str, float]): Child attribute name -> GFLOPs per clip.
        part_seconds (Mapping[str, float]): Part name -> seconds per clip (``time_inference(...)['parts']``).
        dense (Mapping[str, float], optional): The device's dense rates (:func:`dense_peak_gflops`); its
            ``'peak'`` is the ceiling.

    Returns:
        dict: ``gflops`` (per part), ``gflops_per_s`` (per part with time > 0), ``dense`` (as given), and with a
        ceiling and a timed visual backbone ``ratio_at_peak``: ``(t_vb + F_rest / peak) / t_vb``, the lowest
        ``total / visual backbone`` of the same FLOPs next to this backbone time (every other part at the
        ceiling, nothing between the parts).
    """
    gflops = part_flops(module_flops)
    rates = {part: value / part_seconds[part] for part, value in gflops.items() if part_seconds.get(part, 0.0) > 0}
    out: Dict[str, object] = dict(gflops=gflops, gflops_per_s=rates, dense=None if dense is None else dict(dense))
    peak = None if dense is None else dense.get('peak')
    backbone = part_seconds.get('visual backbone', 0.0)
    if peak and backbone > 0:
        rest = sum(value for part, value in gflops.items() if part != 'visual backbone')
        out['ratio_at_peak'] = (backbone + rest / peak) / backbone
    return out
