"""t-SNE of decoder features with and without CDCL (the ICF paper's Figure 2), with class-separation numbers.

For each model (``[NAME=]CONFIG:CHECKPOINT``, up to 4; ``NAME`` defaults to the config's file name) the tool
runs the config's test dataset on ``--split`` (every clip with its own audio) and takes, per selected frame,
the prototypes CDCL contrasts (:mod:`mmavs.evaluation.prototypes`): the **visual** prototype (masked average
pooling of the decoder's ``pixel_features`` over the ground-truth foreground) and the **audio** prototype
(mean of the decoder's ``audio_queries``). Selected frames are real frames with ground truth whose ground
truth has foreground. Labels: S4, the clip's ``category``; AVSS, one row per class present in a frame's
ground truth (pooled over that class's pixels), labelled with the class name; MS3 has no classes, so it
needs ``--label-key KEY`` (a metainfo field).

Per model and feature kind it writes, in the features' own space (L2-normalised rows,
:mod:`mmavs.evaluation.functional.class_separation`): the **cosine silhouette** and the **leave-one-out
k-NN accuracy** (``--k``, default 5) next to the majority-class share (chance); and a seeded 2-D t-SNE
(``init='pca'``; ``--perplexity`` lowered to ``(n - 1) / 3`` when ``3 * perplexity + 1 > n``). Outputs in ``--out``:
``tsne.png`` (one panel per model and feature kind, points coloured by class, one legend of class names),
``tsne_metrics.json`` (the numbers, the counts per class and the settings), and a table on the terminal.

Examples (the first compares the small S4 model trained without CDCL, i.e. its config with
``model.cdcl_loss=None``, with ICF on the S4 test split; the second labels the tiny generated M3 set's frames by
their clip)::

    python tools/analysis_tools/tsne.py \\
        "w/o CDCL=configs/icl/ablations/icl_tiny_synthetic_s4_no_cdcl.py:work_dirs/s4_no_cdcl/epoch_8.pth" \\
        "ICF=configs/icl/icl_tiny_synthetic_s4.py:work_dirs/icl_tiny_synthetic_s4/epoch_8.pth" \\
        --split test --features visual,audio --out work_dirs/tsne_s4
    python tools/analysis_tools/tsne.py \\
        "w/o CDCL=configs/icl/ablations/icl_tiny_synthetic_m3_no_cdcl.py:work_dirs/no_cdcl/epoch_8.pth" \\
        "ICF=configs/icl/icl_tiny_synthetic_m3.py:work_dirs/icl_tiny_synthetic_m3/epoch_8.pth" \\
        --label-key vid --out work_dirs/tsne_m3
"""
import argparse
import json
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from mmengine.config import Config, DictAction
from mmengine.logging import print_log
from rich.console import Console
from rich.table import Table

from mmavs.apis import init_model
from mmavs.apis.inference import load_inference_config
from mmavs.apis.split_data import build_split_dataset
from mmavs.evaluation.functional import class_separation, tsne_embedding
from mmavs.evaluation.prototypes import (
    FEATURE_OUTPUTS,
    PrototypeError,
    Prototypes,
    check_kinds,
    extract_prototypes,
)
from mmavs.utils import register_all_modules
from mmavs.utils.tool_args import ModelSpec, parse_model_spec
from mmavs.utils.work_dir import check_dir_writable

#: Models side by side in one figure at most.
MAX_MODELS = 4


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('models', nargs='+', metavar='[NAME=]CONFIG:CHECKPOINT',
                        help=f'one panel column each (at most {MAX_MODELS})')
    parser.add_argument('--split', default='test', help='dataset split (default: test)')
    parser.add_argument('--data-root', help='data root of every dataset (default: each config\'s own)')
    parser.add_argument('--features', default='visual,audio',
                        help=f'comma-separated feature kinds of {sorted(FEATURE_OUTPUTS)} (default: visual,audio)')
    parser.add_argument('--label-key', help='metainfo field labelling whole frames (needed for MS3; default: '
                        'S4 category, AVSS per-class rows)')
    parser.add_argument('--perplexity', type=float, default=30., help='t-SNE perplexity (default: 30)')
    parser.add_argument('--k', type=int, default=5, help='neighbours of the leave-one-out k-NN (default: 5)')
    parser.add_argument('--seed', type=int, default=0, help='seed of t-SNE and of --max-frames (default: 0)')
    parser.add_argument('--max-frames', type=int, help='at most this many selected frames per model (clips '
                        'drawn in a seeded random order)')
    parser.add_argument('--batch-size', type=int, default=2, help='clips per forward pass (default: 2)')
    parser.add_argument('--out', default='work_dirs/tsne', help='output directory (default: work_dirs/tsne)')
    parser.add_argument('--device', default='cpu', help='device of the models (default: cpu)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='overrides of every config, key=value')
    args = parser.parse_args(argv)
    if len(args.models) > MAX_MODELS:
        parser.error(f'at most {MAX_MODELS} models side by side, got {len(args.models)}')
    try:
        args.models = [parse_model_spec(spec) for spec in args.models]
        args.features = check_kinds([k.strip() for k in args.features.split(',') if k.strip()])
    except (ValueError, FileNotFoundError) as exc:
        parser.error(str(exc))
    names = [m.name for m in args.models]
    if len(set(names)) != len(names):
        parser.error(f'model names must differ, got {names} (give NAME=CONFIG:CHECKPOINT)')
    if not args.perplexity > 0 or args.k < 1 or args.batch_size < 1:
        parser.error('--perplexity must be > 0, --k and --batch-size >= 1')
    if args.max_frames is not None and args.max_frames < args.k + 1:
        parser.error(f'--max-frames must be at least --k + 1 = {args.k + 1}')
    return args


# ----------------------------------------------------------------------------------------------- figure
def class_colours(labels: Sequence[str]) -> Dict[str, tuple]:
    """One RGBA colour per class name (sorted), from ``tab10`` / ``tab20`` or an evenly spaced ``hsv``."""
    from matplotlib import colormaps
    names = sorted(set(labels))
    if len(names) <= 10:
        cmap = colormaps['tab10']
        return {n: cmap(i) for i, n in enumerate(names)}
    if len(names) <= 20:
        cmap = colormaps['tab20']
        return {n: cmap(i) for i, n in enumerate(names)}
    cmap = colormaps['hsv']
    return {n: cmap(i / len(names)) for i, n in enumerate(names)}


def draw_figure(panels: List[dict], kinds: Sequence[str], models: Sequence[str], path: str) -> None:
    """Panels ``kinds x models`` (rows x columns) of t-SNE points, one legend of all classes below.

    Args:
        panels (list[dict]): ``model``, ``kind``, ``points`` ``[n, 2]``, ``labels`` (n), ``metrics``.
        kinds (Sequence[str]): Row order.
        models (Sequence[str]): Column order.
        path (str): PNG file.
    """
    colours = class_colours([label for p in panels for label in p['labels']])
    width = 4.2 * len(models)
    column_width = 0.45 + 0.075 * max(len(name) for name in colours)  # inches of one legend entry at 8 pt
    ncol = max(1, min(len(colours), int(width // column_width)))
    legend_rows = -(-len(colours) // ncol)
    fig = Figure(figsize=(width, 4.2 * len(kinds) + 0.25 * legend_rows + 0.3), dpi=110)
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(kinds), len(models), squeeze=False)
    for panel in panels:
        ax = axes[kinds.index(panel['kind'])][models.index(panel['model'])]
        labels = np.asarray(panel['labels'])
        size = float(np.clip(2000 / max(len(labels), 1), 3, 30))
        for name, colour in colours.items():
            sel = labels == name
            if sel.any():
                ax.scatter(panel['points'][sel, 0], panel['points'][sel, 1], s=size, color=colour,
                           linewidths=0, alpha=0.8)
        m = panel['metrics']
        ax.set_title(f'{panel["model"]}: {panel["kind"]} (n={len(labels)})\nsilhouette {m["silhouette"]:.3f}, '
                     f'{m["k"]}-NN acc {m["knn_accuracy"]:.3f} (chance {m["chance"]:.2f})', fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    handles = [
        axes[0][0].scatter([], [], s=25, color=colour, label=name) for name, colour in colours.items()
    ]
    legend_height = (0.25 * legend_rows + 0.3) / fig.get_figheight()
    fig.legend(handles=handles, loc='lower center', ncol=ncol, fontsize=8, frameon=False,
               bbox_to_anchor=(0.5, 0.0))
    fig.tight_layout(rect=(0, legend_height, 1, 1))
    fig.savefig(path)


# ----------------------------------------------------------------------------------------------- main
def model_prototypes(spec: ModelSpec, args: argparse.Namespace) -> Prototypes:
    """Build the dataset and the model of ``spec`` and extract its labelled prototypes."""
    cfg: Config = load_inference_config(spec.config, args.cfg_options)
    dataset = build_split_dataset(cfg, args.split, args.data_root)
    model = init_model(cfg, spec.checkpoint, device=args.device)
    return extract_prototypes(model, dataset, args.features, label_key=args.label_key,
                              batch_size=args.batch_size, max_frames=args.max_frames, seed=args.seed,
                              source=spec.config)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Run the tool; returns the metrics written to ``tsne_metrics.json``."""
    args = parse_args(argv)
    register_all_modules()
    check_dir_writable(args.out, 'output directory')
    for spec in args.models:  # every config readable before the first model runs
        load_inference_config(spec.config, args.cfg_options)
    report = dict(
        split=args.split,
        features=list(args.features),
        k=args.k,
        perplexity=args.perplexity,
        seed=args.seed,
        max_frames=args.max_frames,
        label_key=args.label_key,
        silhouette_definition='cosine distance on L2-normalised features (sklearn silhouette_score)',
        knn_definition='leave-one-out k-NN (KNeighborsClassifier, uniform votes, fitted once, predict(None)) '
        'on L2-normalised features; chance = majority-class share',
        models=[])
    panels = []
    for spec in args.models:
        protos = model_prototypes(spec, args)
        labels, counts = np.unique(protos.labels, return_counts=True)
        entry = dict(name=spec.name, config=spec.config, checkpoint=spec.checkpoint, num_samples=len(protos),
                     num_frames=protos.num_frames, classes={str(a): int(b) for a, b in zip(labels, counts)},
                     features={})
        for kind in args.features:
            metrics = class_separation(protos.features[kind], protos.labels, args.k)
            points, used = tsne_embedding(protos.features[kind], args.perplexity, args.seed)
            metrics['tsne_perplexity'] = used
            metrics['dims'] = int(protos.features[kind].shape[1])
            entry['features'][kind] = metrics
            panels.append(dict(model=spec.name, kind=kind, points=points, labels=protos.labels, metrics=metrics))
        report['models'].append(entry)
    png = osp.join(args.out, 'tsne.png')
    draw_figure(panels, list(args.features), [m.name for m in args.models], png)
    with open(osp.join(args.out, 'tsne_metrics.json'), 'w') as f:
        json.dump(report, f, indent=2)
    table = Table(title=f'{args.split}: class separation of decoder prototypes (L2-normalised; silhouette: '
                  f'cosine; {args.k}-NN: leave-one-out)')
    for column in ('model', 'feature', 'samples', 'classes', 'silhouette', f'{args.k}-NN acc', 'chance'):
        table.add_column(column, justify='left' if column in ('model', 'feature') else 'right')
    for entry in report['models']:
        for kind, m in entry['features'].items():
            table.add_row(entry['name'], kind, str(m['num_samples']), str(m['num_classes']), f'{m["silhouette"]:.3f}',
                          f'{m["knn_accuracy"]:.3f}', f'{m["chance"]:.3f}')
    Console(width=110).print(table)
    print_log(f'wrote {png} and {osp.join(args.out, "tsne_metrics.json")}', logger='current')
    return report


if __name__ == '__main__':
    try:
        main()
    except PrototypeError as exc:  # the model or the data cannot give labelled prototypes: no traceback
        sys.exit(f'tsne.py: error: {exc}')
