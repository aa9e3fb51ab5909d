"""Inference time per clip, training step time, peak memory, parameters and FLOPs of one segmentor.

Every figure comes from running the model as the Runner runs it: ``model.test_step`` (data preprocessor
included) for inference, ``model.train_step`` with the config's optim wrapper for training, on batches that
the config's own datasets and pipelines produce. Times are medians over the timed batches after warm-up,
divided by the clips per batch where "per clip" is said. Peak memory is the CUDA allocator's peak on CUDA,
and the process's peak resident set size (``ru_maxrss``, Linux) on the CPU; run one configuration per
process (``tools/analysis_tools/benchmark.py`` does) so that one figure does not include another's.
"""
import contextlib
import math
import resource
import statistics
import time
from typing import Any, Dict, List, Optional, Sequence

import torch
from mmengine.analysis import FlopAnalyzer
from mmengine.analysis.jit_handles import get_shape
from mmengine.dataset import pseudo_collate
from torch import nn

from mmavs.engine import AMP_DTYPE_NAMES

from .parts import PartTimer, device_synchronizer

#: Mixed-precision dtypes of ``--amp`` (autocast's torch dtypes of :data:`mmavs.engine.AMP_DTYPE_NAMES`).
AMP_DTYPES = {name: getattr(torch, dtype) for name, dtype in AMP_DTYPE_NAMES.items()}


def peak_memory_mb(device: torch.device) -> float:
    """CUDA allocator peak (MB) on CUDA, else the process's peak RSS (MB)."""
    if device.type == 'cuda':
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def reset_peak_memory(device: torch.device) -> None:
    """Start a new CUDA peak (the CPU's peak RSS cannot be reset)."""
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)


def count_parameters(model: nn.Module) -> Dict[str, float]:
    """``total`` and ``trainable`` parameters, in millions."""
    return dict(total=sum(p.numel() for p in model.parameters()) / 1e6,
                trainable=sum(p.numel() for p in model.parameters() if p.requires_grad) / 1e6)


def make_batches(dataset, batch_size: int, count: int) -> List[dict]:
    """``count`` collated batches of ``batch_size`` clips, cycling through ``dataset``."""
    if len(dataset) == 0:
        raise ValueError(f'{type(dataset).__name__} has no clip to benchmark on')
    return [pseudo_collate([dataset[(i * batch_size + j) % len(dataset)] for j in range(batch_size)])
            for i in range(count)]


def autocast(device: torch.device, amp: Optional[str]):
    """``torch.autocast`` for ``amp`` ('fp16' / 'bf16') on ``device``, or a no-op context for None.

    Raises:
        ValueError: ``fp16`` on the CPU (PyTorch's CPU autocast computes in bfloat16 only).
    """
    if amp is None:
        return contextlib.nullcontext()
    if amp not in AMP_DTYPES:
        raise ValueError(f'amp must be one of {sorted(AMP_DTYPES)} or None, got {amp!r}')
    if device.type == 'cpu' and amp == 'fp16':
        raise ValueError('--amp fp16 needs CUDA: on the CPU PyTorch autocasts to bfloat16 only (use --amp bf16)')
    return torch.autocast(device_type=device.type, dtype=AMP_DTYPES[amp])


def _per_unit(timer: PartTimer, count: int) -> Dict[str, float]:
    """Seconds per clip / step of every part the model has (0 for a part that never ran)."""
    return {part: timer.seconds.get(part, 0.0) / count for part in timer.parts}


def time_inference(model: nn.Module, batches: Sequence[dict], warmup: int, device: torch.device,
                   amp: Optional[str] = None) -> Dict[str, object]:
    """Time ``model.test_step`` on ``batches`` (the first ``warmup`` untimed).

    Returns:
        dict: ``per_clip_s`` (median batch time / clips per batch), ``per_clip_mean_s``, ``parts`` (seconds
        per clip of every part over the timed batches, ``other`` included), ``peak_mb``, ``batches``.
    """
    if len(batches) <= warmup:
        raise ValueError(f'need more batches ({len(batches)}) than warm-up batches ({warmup})')
    sync = device_synchronizer(device)
    model.eval()
    clips = len(batches[0]['data_samples'])
    with torch.no_grad(), autocast(device, amp):
        for batch in batches[:warmup]:
            model.test_step(batch)
        reset_peak_memory(device)
        times: List[float] = []
        with PartTimer(model, device) as timer:
            for batch in batches[warmup:]:
                sync()
                start = time.perf_counter()
                model.test_step(batch)
                sync()
                times.append(time.perf_counter() - start)
    timed = len(times) * clips
    parts = _per_unit(timer, timed)
    parts['other'] = sum(times) / timed - sum(parts.values())
    return dict(per_clip_s=statistics.median(times) / clips, per_clip_mean_s=sum(times) / timed, parts=parts,
                peak_mb=peak_memory_mb(device), batches=len(times))


def time_train_step(model: nn.Module, optim_wrapper, batches: Sequence[dict], warmup: int,
                    device: torch.device) -> Dict[str, object]:
    """Time ``model.train_step`` on ``batches`` (the first ``warmup`` untimed).

    Returns:
        dict: ``step_s`` (median), ``step_mean_s``, ``parts`` (seconds per step of every part's forward;
        ``backward + optimizer`` is the step minus the preprocessor and the model's forward; ``other`` the
        rest of the forward), ``peak_mb``, ``steps``.
    """
    if len(batches) <= warmup:
        raise ValueError(f'need more batches ({len(batches)}) than warm-up batches ({warmup})')
    sync = device_synchronizer(device)
    model.train()
    for batch in batches[:warmup]:
        model.train_step(batch, optim_wrapper)
    reset_peak_memory(device)
    times: List[float] = []
    with PartTimer(model, device, whole_forward=True) as timer:
        for batch in batches[warmup:]:
            sync()
            start = time.perf_counter()
            model.train_step(batch, optim_wrapper)
            sync()
            times.append(time.perf_counter() - start)
    steps = len(times)
    parts = _per_unit(timer, steps)
    forward_s = timer.forward_seconds / steps
    parts['other'] = forward_s - sum(v for k, v in parts.items() if k != 'preprocessor')
    parts['backward + optimizer'] = sum(times) / steps - forward_s - parts.get('preprocessor', 0.0)
    return dict(step_s=statistics.median(times), step_mean_s=sum(times) / steps, parts=parts,
                peak_mb=peak_memory_mb(device), steps=steps)


def sdpa_flop_jit(inputs: List[Any], outputs: List[Any]) -> int:
    """FLOPs of ``aten::scaled_dot_product_attention`` (MMEngine has no counter for it).

    ``Q K^T`` and ``A V``: ``prod(batch dims) * Lq * Lk * (E + Ev)`` multiply-adds for query ``[..., Lq, E]``, key
    ``[..., Lk, E]`` and value ``[..., Lk, Ev]`` (softmax and scaling are not counted, as for other operators).
    """
    query, key, value = (get_shape(v) for v in inputs[:3])
    batch = math.prod(query[:-2])
    return batch * query[-2] * key[-2] * (query[-1] + value[-1])


class _TensorForward(nn.Module):
    """``(frames, audio) -> logits`` of a segmentor for one fixed list of data samples (for tracing)."""

    def __init__(self, model: nn.Module, data_samples: list) -> None:
        super().__init__()
        self.model = model
        self.data_samples = data_samples

    def forward(self, frames: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        return self.model(dict(frames=frames, audio=audio), self.data_samples, mode='tensor')


def flops_per_clip(model: nn.Module, batch: dict) -> Dict[str, object]:
    """FLOPs of the model's ``'tensor'`` forward on one clip, by MMEngine's :class:`FlopAnalyzer`.

    MMEngine (as fvcore) counts one fused multiply-add as one FLOP; ``scaled_dot_product_attention`` is counted by
    :func:`sdpa_flop_jit`; operators without a counter are listed in ``unsupported_ops`` (their cost is not in the
    total). The data preprocessor runs first, outside the count.

    Args:
        model (nn.Module): The segmentor.
        batch (dict): A collated batch; its first clip is used.

    Returns:
        dict: ``total`` (GFLOPs), ``parts`` (GFLOPs of every top-level child), ``unsupported_ops``.
    """
    model.eval()
    one = dict(inputs={key: value[:1] for key, value in batch['inputs'].items()},
               data_samples=batch['data_samples'][:1])
    with torch.no_grad():
        data = model.data_preprocessor(one, False)
        wrapper = _TensorForward(model, data['data_samples'])
        analyzer = FlopAnalyzer(wrapper, (data['inputs']['frames'], data['inputs']['audio']))
        analyzer.set_op_handle('aten::scaled_dot_product_attention', sdpa_flop_jit)
        analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings('none')
        total = analyzer.total()
        by_module = analyzer.by_module()
    parts = {name[len('model.'):]: count / 1e9 for name, count in by_module.items()
             if name.count('.') == 1 and name.startswith('model.') and count}
    return dict(total=total / 1e9, parts=parts, unsupported_ops=dict(analyzer.unsupported_ops()))
