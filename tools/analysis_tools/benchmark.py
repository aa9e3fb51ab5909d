"""Benchmark configs: inference per clip, training step, their split by part, peak memory, parameters, FLOPs.

Examples::

    python tools/analysis_tools/benchmark.py configs/icl/icl_pvt_s4.py configs/baseline/baseline_pvt_s4.py
    python tools/analysis_tools/benchmark.py configs/icl/icl_tiny_synthetic_s4.py --steps 20 --out bench.json
    python tools/analysis_tools/benchmark.py configs/icl/icl_pvt_avss.py --data data/AVSS --data-clips 50
    python tools/analysis_tools/benchmark.py CONFIG --device cuda --amp bf16

Every config runs in its own process (so that its peak memory is its own) with random weights (every
``init_cfg`` dropped: no pretrained file needed) on batches of its own train / test datasets and pipelines:
on ``--data ROOT`` (an official-layout copy; the config's ``data_root`` is replaced), else on a few clips of
the config's subset generated in the official layout in a temporary folder (``--frame-size``, default 224,
the S4 / MS3 frame size). ``--data-clips N`` also measures the clips per second one dataloader worker gets
from the train and test pipelines, split by transform. The figures depend on the machine and on what else
runs on it: say which when you quote them (docs/benchmark.md).
"""
import argparse
import json
import os
import subprocess
import sys
from typing import Dict, List

from rich.console import Console
from rich.table import Table


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Benchmark AVS configs (time, memory, parameters, FLOPs)')
    parser.add_argument('configs', nargs='+', help='config files')
    parser.add_argument('--device', default='cpu', help='torch device (default: cpu)')
    parser.add_argument('--amp', choices=('fp16', 'bf16'), help='mixed precision (CPU: bf16 inference only)')
    parser.add_argument('--data', metavar='ROOT', help='official-layout data root (default: generated clips)')
    parser.add_argument('--frame-size', type=int, default=224, help='frame height of the generated clips')
    parser.add_argument('--clips', type=int, default=5, help='timed inference batches (default: 5)')
    parser.add_argument('--batch-size', type=int, default=1, help='clips per inference batch (default: 1)')
    parser.add_argument('--steps', type=int, default=10, help='timed training steps (default: 10)')
    parser.add_argument('--train-batch-size', type=int, help='clips per step (default: the config\'s)')
    parser.add_argument('--warmup', type=int, default=2, help='untimed batches / steps first (default: 2)')
    parser.add_argument('--no-train', action='store_true', help='inference figures only')
    parser.add_argument('--no-flops', action='store_true', help='do not count FLOPs')
    parser.add_argument('--data-clips', type=int, default=0, metavar='N',
                        help='also time the train / test pipelines on N clips (one worker)')
    parser.add_argument('--threads', type=int, help='torch threads (default: torch\'s)')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE', help='config overrides')
    parser.add_argument('--out', metavar='JSON', help='write every figure of every config to this file')
    parser.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name in ('clips', 'steps', 'batch_size', 'frame_size'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1')
    missing = [c for c in args.configs if not os.path.isfile(c)]
    if missing:
        parser.error(f'config file(s) not found: {missing}')
    if args.data is not None and not os.path.isdir(args.data):
        parser.error(f'--data {args.data}: not a folder')
    return args


def run_child(args: argparse.Namespace) -> dict:
    """Benchmark ``args.configs[0]`` in this process."""
    import torch
    from mmengine.config import Config, DictAction

    import mmavs  # noqa: F401  (compat shims before mmseg / torch.load are touched)
    from mmavs.apis.benchmark import benchmark_config
    from mmavs.utils import cpu_allocator_tuned
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = Config.fromfile(args.configs[0])
    if args.cfg_options:
        options = argparse.ArgumentParser()
        options.add_argument('--o', nargs='+', action=DictAction)
        cfg.merge_from_dict(options.parse_args(['--o', *args.cfg_options]).o)
    result = benchmark_config(cfg, device=args.device, data_root=args.data, frame_size=args.frame_size,
                              clips=args.clips, steps=args.steps, warmup=args.warmup, batch_size=args.batch_size,
                              train_batch_size=args.train_batch_size, amp=args.amp, train=not args.no_train,
                              flops=not args.no_flops, data_clips=args.data_clips)
    return dict(result, config=os.path.relpath(args.configs[0]), threads=torch.get_num_threads(),
                cpu_allocator_tuned=cpu_allocator_tuned())


def child_argv(args: argparse.Namespace, config: str) -> List[str]:
    """The command line of the child process of ``config``."""
    argv = [sys.executable, os.path.abspath(__file__), os.path.abspath(config), '--child', '--device', args.device,
            '--frame-size', str(args.frame_size), '--clips', str(args.clips), '--batch-size', str(args.batch_size),
            '--steps', str(args.steps), '--warmup', str(args.warmup), '--data-clips', str(args.data_clips)]
    data = None if args.data is None else os.path.abspath(args.data)
    for flag, value in (('--amp', args.amp), ('--data', data), ('--train-batch-size', args.train_batch_size),
                        ('--threads', args.threads)):
        if value is not None:
            argv += [flag, str(value)]
    argv += ['--no-train'] * args.no_train + ['--no-flops'] * args.no_flops
    if args.cfg_options:
        argv += ['--cfg-options', *args.cfg_options]
    return argv


def _fmt(value, digits: int = 3) -> str:
    return '-' if value is None else f'{value:.{digits}f}'


def _ordered_union(name_lists) -> List[str]:
    """The names of all lists, each once, in order of first appearance (the columns of a table of configs)."""
    return list(dict.fromkeys(name for names in name_lists for name in names))


def _backbone_ratio(figures: dict):
    """Mean time per clip / step over the visual backbone's (None without a timed backbone)."""
    backbone = figures['parts'].get('visual backbone')
    return figures.get('per_clip_mean_s', figures.get('step_mean_s')) / backbone if backbone else None


def tables(results: List[dict]) -> List[Table]:
    """Summary, inference split, training split, inference compute rate and data pipeline tables."""
    summary = Table(title='benchmark (seconds; memory in MB; inference per clip, training per step)')
    for col in ('config', 'device', 'input [T, 3, H, W]', 'params M (trainable)', 'GFLOPs / clip', 'inference s',
                'infer peak MB', 'train step s (clips)', 'train peak MB'):
        summary.add_column(col, justify='left' if col == 'config' else 'right')
    for r in results:
        train = r.get('train')
        summary.add_row(
            r['config'], r['device'] + (f' ({r["amp"]})' if r.get('amp') else ''), str(r['input']),
            f'{r["params"]["total"]:.2f} ({r["params"]["trainable"]:.2f})',
            _fmt(r['flops']['total'], 2) if 'flops' in r else '-', _fmt(r['inference']['per_clip_s']),
            _fmt(r['inference']['peak_mb'], 0), '-' if not train else f'{train["step_s"]:.3f} ({train["batch_size"]})',
            '-' if not train else _fmt(train['peak_mb'], 0))
    out = [summary]
    for key, title, unit in (('inference', 'inference split (s per clip)', 'per_clip_s'),
                             ('train', 'training step split (s per step)', 'step_s')):
        parts = _ordered_union((r.get(key) or {}).get('parts', {}) for r in results)
        if not parts:
            continue
        table = Table(title=title)
        table.add_column('config')
        for p in parts:
            table.add_column(p, justify='right')
        table.add_column('total / visual backbone', justify='right')
        for r in results:
            if not r.get(key):
                continue
            split = r[key]['parts']
            table.add_row(r['config'], *[_fmt(split.get(p)) for p in parts], _fmt(_backbone_ratio(r[key]), 2))
        out.append(table)
    rated = [r for r in results if (r.get('inference') or {}).get('rates')]
    if rated:
        parts = _ordered_union(r['inference']['rates']['gflops_per_s'] for r in rated)
        table = Table(title='inference compute rate (GFLOPs / s per part and of the device\'s dense primitives; '
                      'total / visual backbone as measured and with every other part at the faster primitive\'s rate)')
        table.add_column('config')
        for col in parts + ['matmul', 'conv', 'total / visual backbone', 'at the ceiling']:
            table.add_column(col, justify='right')
        for r in rated:
            rates = r['inference']['rates']
            table.add_row(r['config'], *[_fmt(rates['gflops_per_s'].get(p), 0) for p in parts],
                          _fmt(rates['dense']['matmul'], 0), _fmt(rates['dense']['conv'], 0),
                          _fmt(_backbone_ratio(r['inference']), 2),
                          _fmt(rates.get('ratio_at_peak'), 2))
        out.append(table)
    if any('data' in r for r in results):
        table = Table(title='data pipeline, one worker (clips / s; ms per clip of the slowest transforms)')
        for col in ('config', 'dataset', 'clips / s', 'ms / clip', 'slowest transforms (ms / clip)'):
            table.add_column(col, justify='left' if col in ('config', 'dataset', 'slowest transforms (ms / clip)')
                             else 'right')
        for r in results:
            for name, d in r.get('data', {}).items():
                slow = sorted(d['transforms'].items(), key=lambda kv: -kv[1])[:3]
                table.add_row(r['config'], name, f'{d["clips_per_s"]:.1f}', f'{d["ms_per_clip"]:.1f}',
                              ', '.join(f'{k} {v:.1f}' for k, v in slow))
        out.append(table)
    return out


def main(argv=None) -> List[Dict[str, object]]:
    args = parse_args(argv)
    if args.child:
        print(json.dumps(run_child(args)))
        return []
    results = []
    for config in args.configs:
        proc = subprocess.run(child_argv(args, config), capture_output=True, text=True, env=dict(os.environ))
        if proc.returncode != 0:
            sys.exit(f'benchmark of {config} failed:\n{proc.stderr[-4000:]}')
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    console = Console(width=200)
    for table in tables(results):
        console.print(table)
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(results, f, indent=2)
        console.print(f'wrote {args.out}')
    return results


if __name__ == '__main__':
    main()
