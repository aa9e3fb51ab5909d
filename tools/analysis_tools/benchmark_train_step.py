"""Time training steps and measure peak memory of configs on generated data (no timed assertions anywhere).

Example::

    python tools/analysis_tools/benchmark_train_step.py configs/baseline/baseline_tiny_synthetic_s4.py \
        configs/icl/icl_tiny_synthetic_s4.py --data-root data/synthetic/Single-source --steps 20

Prints, per config: mean / median step time after warm-up, and the peak memory of the steps: on CUDA the
allocator's peak, on the CPU the growth of the process's peak resident set size (ru_maxrss) during the steps
(configs run in separate processes so that one config's peak does not hide another's).
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from typing import Dict, List

from rich.console import Console
from rich.table import Table


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_one(config: str, data_root: str, steps: int, warmup: int, batch_size: int) -> Dict[str, float]:
    """Run ``warmup + steps`` training steps of ``config`` in this process and return the figures."""
    import torch
    from mmengine.config import Config
    from mmengine.dataset import pseudo_collate
    from mmengine.optim import build_optim_wrapper

    import mmavs  # noqa: F401
    from mmavs.registry import DATASETS, MODELS
    from mmavs.utils import register_all_modules

    register_all_modules()
    cfg = Config.fromfile(config)
    dataset_cfg = cfg.train_dataloader.dataset
    dataset_cfg.data_root = data_root
    dataset = DATASETS.build(dataset_cfg)
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).to(device)
    model.init_weights()
    model.train()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    batches = [
        pseudo_collate([dataset[(i * batch_size + j) % len(dataset)] for j in range(batch_size)])
        for i in range(warmup + steps)
    ]
    for batch in batches[:warmup]:
        model.train_step(batch, optim_wrapper)
    rss_before = _peak_rss_mb()
    if device == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    times: List[float] = []
    for batch in batches[warmup:]:
        if device == 'cuda':
            torch.cuda.synchronize()
        start = time.perf_counter()
        model.train_step(batch, optim_wrapper)
        if device == 'cuda':
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    peak = (torch.cuda.max_memory_allocated() / 2**20 if device == 'cuda' else _peak_rss_mb())
    return dict(
        device=device,
        mean_s=statistics.mean(times),
        median_s=statistics.median(times),
        peak_mb=peak,
        peak_growth_mb=0.0 if device == 'cuda' else _peak_rss_mb() - rss_before,
        params_m=sum(p.numel() for p in model.parameters()) / 1e6)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('configs', nargs='+')
    parser.add_argument('--data-root', required=True, help='generated dataset root for the configs')
    parser.add_argument('--steps', type=int, default=20)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_one(args.configs[0], args.data_root, args.steps, args.warmup,
                                 args.batch_size)))
        return
    table = Table(title=f'training step ({args.steps} steps after {args.warmup} warm-up, '
                  f'batch {args.batch_size} clips)')
    for col in ('config', 'device', 'params (M)', 'mean step (s)', 'median step (s)', 'peak memory (MB)',
                'peak growth in steps (MB)'):
        table.add_column(col, justify='right' if col != 'config' else 'left')
    for config in args.configs:
        proc = subprocess.run(
            [sys.executable, __file__, config, '--data-root', args.data_root, '--steps', str(args.steps),
             '--warmup', str(args.warmup), '--batch-size', str(args.batch_size), '--child'],
            capture_output=True, text=True, env=dict(os.environ))
        if proc.returncode != 0:
            raise RuntimeError(f'{config} failed:\n{proc.stderr[-3000:]}')
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        table.add_row(config, r['device'], f'{r["params_m"]:.2f}', f'{r["mean_s"]:.3f}', f'{r["median_s"]:.3f}',
                      f'{r["peak_mb"]:.0f}', f'{r["peak_growth_mb"]:.0f}')
    Console(width=160).print(table)


if __name__ == '__main__':
    main()
