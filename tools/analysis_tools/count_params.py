"""Count the parameters of configs' models, per top-level part (built on the CPU, randomly initialised).

Example::

    python tools/analysis_tools/count_params.py configs/icl/icl_pvt_avss.py configs/baseline/baseline_pvt_s4.py
"""
import argparse
from collections import OrderedDict
from typing import Dict

from mmengine.config import Config
from rich.console import Console
from rich.table import Table

import mmavs  # noqa: F401
from mmavs.registry import MODELS
from mmavs.utils import register_all_modules


def count_parameters(config: str) -> Dict[str, Dict[str, int]]:
    """``{part: {'total': n, 'trainable': m}}`` of the config's model (no weights are loaded)."""
    cfg = Config.fromfile(config)
    model = MODELS.build(cfg.model)
    counts: Dict[str, Dict[str, int]] = OrderedDict()
    for name, child in model.named_children():
        params = list(child.parameters())
        if not params:
            continue
        counts[name] = dict(
            total=sum(p.numel() for p in params),
            trainable=sum(p.numel() for p in params if p.requires_grad))
    direct = list(model.parameters(recurse=False))
    if direct:
        counts['(segmentor itself)'] = dict(
            total=sum(p.numel() for p in direct),
            trainable=sum(p.numel() for p in direct if p.requires_grad))
    counts['all'] = dict(
        total=sum(p.numel() for p in model.parameters()),
        trainable=sum(p.numel() for p in model.parameters() if p.requires_grad))
    return counts


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('configs', nargs='+')
    args = parser.parse_args(argv)
    register_all_modules()
    console = Console(width=120)
    for config in args.configs:
        table = Table(title=config)
        table.add_column('part')
        table.add_column('parameters (M)', justify='right')
        table.add_column('trainable (M)', justify='right')
        for part, c in count_parameters(config).items():
            table.add_row(part, f'{c["total"] / 1e6:.2f}', f'{c["trainable"] / 1e6:.2f}')
        console.print(table)


if __name__ == '__main__':
    main()
