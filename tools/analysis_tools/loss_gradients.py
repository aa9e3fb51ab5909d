"""How strongly each auxiliary loss pulls on each model part, relative to the segmentation loss.

For a config (and optionally a checkpoint) it runs training-mode forward passes on training batches and, per
top-level model part (``audio_backbone``, ``visual_backbone``, ``neck``, ``decoder``, ...) and per loss key,
compares the gradient of that loss with the gradient of the segmentation loss (the sum of ``seg_keys``):

- ``ratio`` = ``|g_loss| / |g_seg|`` (above 1: the auxiliary loss, already weighted, moves the part more than
  the task it should serve; with Adam the update direction follows the larger gradient),
- ``cos`` = cosine between the two (negative: the loss works against segmentation there).

Both are averaged over the batches. Example::

    python tools/analysis_tools/loss_gradients.py configs/icl/icl_tiny_synthetic_m3.py \\
        work_dirs/icl_tiny_synthetic_m3/epoch_8.pth --data-root data/synthetic/Multi-sources --batches 8
"""
import argparse
import copy
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from rich.console import Console
from rich.table import Table
from torch import Tensor, nn

from mmavs.engine import load_model_checkpoint
from mmavs.registry import DATASETS, MODELS
from mmavs.utils import register_all_modules

#: Loss keys that make up the segmentation loss.
DEFAULT_SEG_KEYS = ('loss_bce', 'loss_dice', 'loss_focal', 'loss_ce')


Parts = Dict[str, List[Tuple[str, nn.Parameter]]]


def model_parts(model: nn.Module, skip: Sequence[str] = ('cdcl_loss', 'sc_losses', 'losses')) -> Parts:
    """Trainable parameters grouped by top-level child name (loss modules' own heads left out)."""
    parts: Parts = {}
    for name, param in model.named_parameters():
        top = name.split('.')[0]
        if param.requires_grad and top not in skip:
            parts.setdefault(top, []).append((name, param))
    return parts


def flat_grads(loss: Tensor, parts: Parts) -> Dict[str, Tensor]:
    """Gradient of ``loss`` per part, flattened (zeros where the loss does not reach)."""
    params = [p for group in parts.values() for _, p in group]
    grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
    out, i = {}, 0
    for part, group in parts.items():
        chunk = []
        for _, p in group:
            g = grads[i]
            chunk.append((torch.zeros_like(p) if g is None else g).flatten())
            i += 1
        out[part] = torch.cat(chunk)
    return out


def gradient_shares(model: nn.Module, batches: Sequence[dict],
                    seg_keys: Sequence[str] = DEFAULT_SEG_KEYS) -> Dict[Tuple[str, str], Dict[str, float]]:
    """Mean ``ratio`` and ``cos`` (see the module docstring) per ``(loss key, part)``.

    Args:
        model (nn.Module): A segmentor with ``data_preprocessor`` and ``loss``; put in training mode here.
        batches (Sequence[dict]): Collated batches (``pseudo_collate`` of dataset items).
        seg_keys (Sequence[str]): Loss keys summed into the segmentation loss.

    Returns:
        dict: ``{(loss_key, part): dict(ratio=..., cos=..., batches=n)}`` for every auxiliary loss with a
        gradient on the part in at least one batch.

    Raises:
        ValueError: No batch, or the model returns none of ``seg_keys``.
    """
    if not batches:
        raise ValueError('loss_gradients: no batch to measure')
    model.train()
    parts = model_parts(model)
    sums: Dict[Tuple[str, str], List[float]] = {}
    for batch in batches:
        data = model.data_preprocessor(batch, True)
        losses = model.loss(**data)
        seg_terms = [v for k, v in losses.items() if k in seg_keys]
        if not seg_terms:
            raise ValueError(f'loss_gradients: the model returned none of the segmentation keys {list(seg_keys)} '
                             f'(got {sorted(losses)}); pass --seg-keys')
        g_seg = flat_grads(sum(seg_terms), parts)
        for key, value in losses.items():
            if key in seg_keys or not isinstance(value, Tensor) or not value.requires_grad:
                continue
            g_aux = flat_grads(value, parts)
            for part, g in g_aux.items():
                norm = float(g.norm())
                if norm == 0.:
                    continue
                seg_norm = float(g_seg[part].norm())
                cos = float(torch.dot(g, g_seg[part])) / (norm * seg_norm) if seg_norm > 0 else 0.
                acc = sums.setdefault((key, part), [0., 0., 0])
                acc[0] += norm / seg_norm if seg_norm > 0 else float('inf')
                acc[1] += cos
                acc[2] += 1
    return {k: dict(ratio=r / n, cos=c / n, batches=n) for k, (r, c, n) in sums.items()}


def build_batches(cfg: Config, data_root: Optional[str], num_batches: int, batch_size: int) -> List[dict]:
    """``num_batches`` collated batches of the config's training set (its pipeline, first items in order)."""
    dataset_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    if data_root:
        dataset_cfg.data_root = data_root
    dataset = DATASETS.build(dataset_cfg)
    needed = num_batches * batch_size
    if len(dataset) < needed:
        raise ValueError(f'loss_gradients: the training set has {len(dataset)} clips, {num_batches} batches of '
                         f'{batch_size} need {needed}')
    return [pseudo_collate([dataset[i * batch_size + j] for j in range(batch_size)]) for i in range(num_batches)]


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?', help='weights to load (default: the config\'s initialisation)')
    parser.add_argument('--data-root', help='override train_dataloader.dataset.data_root')
    parser.add_argument('--batches', type=int, default=8)
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--seg-keys', nargs='+', default=list(DEFAULT_SEG_KEYS))
    args = parser.parse_args(argv)
    register_all_modules()
    torch.manual_seed(args.seed)
    cfg = Config.fromfile(args.config)
    model = MODELS.build(cfg.model)
    if args.checkpoint:
        load_model_checkpoint(model, args.checkpoint)
    else:
        model.init_weights()
    shares = gradient_shares(model, build_batches(cfg, args.data_root, args.batches, args.batch_size),
                             args.seg_keys)
    table = Table(title='gradient of each auxiliary loss vs the segmentation loss, per model part')
    for col in ('loss', 'part', '|g_loss| / |g_seg|', 'cos(g_loss, g_seg)'):
        table.add_column(col, justify='left' if col in ('loss', 'part') else 'right')
    for (key, part), v in sorted(shares.items()):
        table.add_row(key, part, f'{v["ratio"]:.3f}', f'{v["cos"]:+.3f}')
    Console(width=120).print(table)


if __name__ == '__main__':
    main()
