"""Score a folder of saved predicted masks (AVSBench layout) against a split's ground truth with AVSMetric.

The masks may be those of ``tools/test.py --save-pred DIR`` (give ``DIR`` or ``DIR/pred_masks``) or any
other repository's in the official ``pred_masks`` layout (S4 ``{category}/{vid}/{vid}_{0..4}.png``, MS3
``{vid}/{vid}_{0..4}.png``, AVSS ``{uid}/{uid}_{0..9}.png``): binary masks thresholded at 128, AVSS masks
as palette colours ('RGB', 'P') or class indices ('L'); see ``mmavs.evaluation.mask_files``.

The ground truth is read through the dataset config's own test dataset and pipeline (with ``--split``),
and scored by the config's ``test_evaluator`` (``AVSMetric`` with ``prediction='masks'``): the GT and the
metric are those of ``tools/test.py``. Missing, extra, unreadable and wrongly sized files are listed by
name and nothing is scored (``--allow-extra`` scores despite extra files, still listing them).

Examples::

    python tools/analysis_tools/eval_masks.py results/s4 --dataset-config configs/baseline/baseline_pvt_s4.py
    python tools/analysis_tools/eval_masks.py other_repo/pred_masks --dataset-config configs/_base_/datasets/avss.py \\
        --split test --out metrics.json
"""
import argparse
import copy
import json
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config, DictAction
from mmengine.evaluator import Evaluator
from mmengine.logging import MMLogger
from rich.console import Console
from rich.table import Table

from mmavs.apis.split_data import build_split_dataset
from mmavs.datasets.base_dataset import SPLITS
from mmavs.engine.hooks.save_pred_masks_hook import MANIFEST_NAME
from mmavs.evaluation.mask_files import (
    PRED_MASKS_DIRNAME,
    clip_pred_mask_relpaths,
    compare_layout,
    read_clip_pred_masks,
)
from mmavs.evaluation.per_class import DISPLAY_HEADERS, per_class_cells, per_class_rows
from mmavs.utils import register_all_modules

#: Problems listed in full; beyond this many per kind, a count.
SHOWN_PROBLEMS = 20


class MaskFolderError(RuntimeError):
    """The prediction folder cannot be scored; the message lists every problem found, file by file."""


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('pred_dir', help='a pred_masks folder, or a tools/test.py --save-pred DIR holding one')
    parser.add_argument('--dataset-config', required=True,
                        help='config whose test_dataloader.dataset (and test_evaluator) define the ground truth')
    parser.add_argument('--split', default='test', choices=SPLITS, help='dataset split (default: test)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. test_dataloader.dataset.data_root=...')
    parser.add_argument('--allow-extra', action='store_true',
                        help='score although the folder holds files that are not expected masks (listed)')
    parser.add_argument('--out', help='write the metrics to this JSON file (keys as tools/test.py --out)')
    return parser.parse_args(argv)


def resolve_pred_dir(pred_dir: str) -> Tuple[str, Optional[dict]]:
    """The ``pred_masks`` folder to read and the ``--save-pred`` manifest beside it (None if absent)."""
    if not osp.isdir(pred_dir):
        raise FileNotFoundError(f'eval_masks: prediction folder "{pred_dir}" does not exist')
    nested = osp.join(pred_dir, PRED_MASKS_DIRNAME)
    manifest_path = osp.join(pred_dir, MANIFEST_NAME)
    if not (osp.isdir(nested) and osp.isfile(manifest_path)):
        return pred_dir, None
    with open(manifest_path, encoding='utf-8') as f:
        return nested, json.load(f)


def build_dataset_and_evaluator(cfg: Config, split: str):
    """The config's test dataset on ``split`` and its test evaluator, scoring ``pred_masks``.

    A config without ``test_evaluator`` (e.g. a dataset base config) gets ``AVSMetric`` with the dataset's
    number of classes.
    """
    dataset = build_split_dataset(cfg, split)
    num_classes = len(dataset.metainfo['classes']) if dataset.get_data_info(0)['num_classes'] > 1 else 1
    metric_cfgs = copy.deepcopy(cfg.get('test_evaluator') or dict(type='AVSMetric', num_classes=num_classes))
    metric_cfgs = metric_cfgs if isinstance(metric_cfgs, (list, tuple)) else [metric_cfgs]
    for metric_cfg in metric_cfgs:
        if metric_cfg.get('type') in ('AVSMetric', 'mmavs.AVSMetric'):
            metric_cfg['prediction'] = 'masks'
    evaluator = Evaluator(list(metric_cfgs))
    evaluator.dataset_meta = dataset.metainfo
    return dataset, evaluator


def _listing(kind: str, items: List[str]) -> List[str]:
    shown = [f'  {kind}: {item}' for item in items[:SHOWN_PROBLEMS]]
    if len(items) > SHOWN_PROBLEMS:
        shown.append(f'  ... and {len(items) - SHOWN_PROBLEMS} more {kind} file(s)')
    return shown


def score_folder(mask_root: str, dataset, evaluator: Evaluator, allow_extra: bool = False,
                 logger: Optional[MMLogger] = None) -> Dict[str, float]:
    """Score every clip's saved masks; raise :class:`MaskFolderError` listing every bad file.

    Args:
        mask_root (str): The ``pred_masks`` folder.
        dataset: The built test dataset (its pipeline gives the GT ``[T, H, W]`` each clip is scored on).
        evaluator (Evaluator): Holding an ``AVSMetric(prediction='masks')``.
        allow_extra (bool): Score although ``mask_root`` has unexpected files (listed as a warning).
        logger (MMLogger, optional): Where the warning goes.

    Returns:
        dict[str, float]: ``evaluator.evaluate(len(dataset))``.
    """
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    expected = [relpath for info in infos for relpath in clip_pred_mask_relpaths(info)]
    missing, extra = compare_layout(mask_root, expected)
    where = (f'"{mask_root}" against {type(dataset).__name__} split {dataset.split!r} ({len(infos)} clips, '
             f'{len(expected)} masks expected)')
    if missing or (extra and not allow_extra):
        lines = _listing('missing', missing) + _listing('extra', extra)
        raise MaskFolderError(f'eval_masks: {len(missing)} missing and {len(extra)} extra file(s) in {where}:\n'
                              + '\n'.join(lines))
    if extra and logger is not None:
        logger.warning(f'eval_masks: scoring despite {len(extra)} extra file(s) in {where} (--allow-extra):\n'
                       + '\n'.join(_listing('extra', extra)))
    palette = dataset.metainfo.get('palette')
    problems: List[str] = []
    for index in range(len(dataset)):
        sample = dataset[index]['data_samples']
        masks, clip_problems = read_clip_pred_masks(mask_root, sample.metainfo, sample.gt_masks.shape[-2:], palette)
        problems += clip_problems
        if masks is None or problems:
            continue  # keep reading, to list every bad file; nothing is scored
        sample.pred_masks = torch.from_numpy(masks)
        evaluator.process(data_samples=[sample])
    if problems:
        shown = [f'  {p}' for p in problems[:SHOWN_PROBLEMS]]
        if len(problems) > SHOWN_PROBLEMS:
            shown.append(f'  ... and {len(problems) - SHOWN_PROBLEMS} more')
        raise MaskFolderError(f'eval_masks: {len(problems)} file(s) in {where} cannot be scored:\n' + '\n'.join(shown))
    return evaluator.evaluate(len(dataset))


def print_report(evaluator: Evaluator, metrics: Dict[str, float], manifest: Optional[dict], title: str,
                 console: Console) -> None:
    """Rich tables: the metric rows (legacy / mmavs), beside the manifest's values; AVSS per-class results."""
    recorded = (manifest or {}).get('metrics', {})
    for metric in evaluator.metrics:
        report = getattr(metric, 'last_report', None)
        if not report:
            continue
        prefix = metric.prefix
        table = Table(title=title)
        table.add_column('metric')
        table.add_column('value (%)', justify='right')
        if recorded:
            table.add_column('manifest (%)', justify='right')
        table.add_column('kind')
        table.add_column('definition')
        for key, value, kind, definition in report['rows']:
            cells = [key, f'{value:.2f}']
            if recorded:
                saved = recorded.get(f'{prefix}/{key}')
                cells.append('-' if saved is None else f'{saved:.2f}')
            table.add_row(*cells, kind, definition)
        console.print(table)
        classes = report.get('classes')
        if classes is None:
            continue
        table = Table(title='per class (%)')
        for name in DISPLAY_HEADERS:
            table.add_column(name, justify='left' if name == 'Class' else 'right')
        for row in per_class_rows(report):
            table.add_row(*per_class_cells(row))
        console.print(table)


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, float]:
    args = parse_args(argv)
    register_all_modules()
    # the metric's own (prettytable) log is replaced by the rich tables below; warnings still show
    name = 'mmavs_eval_masks'
    logger = MMLogger.get_instance(name) if MMLogger.check_instance_created(name) else MMLogger.get_instance(
        name, log_level='WARNING')
    cfg = Config.fromfile(args.dataset_config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    mask_root, manifest = resolve_pred_dir(args.pred_dir)
    dataset, evaluator = build_dataset_and_evaluator(cfg, args.split)
    if manifest is not None:
        recorded = manifest.get('dataset', {})
        wanted = dict(subset=dataset.get_data_info(0)['subset'], split=args.split)
        clash = {k: (recorded.get(k), v) for k, v in wanted.items() if recorded.get(k) != v}
        if clash:
            raise SystemExit(f'eval_masks: "{osp.join(args.pred_dir, MANIFEST_NAME)}" says these masks are of '
                             f'{recorded.get("subset")} {recorded.get("split")}, not {wanted["subset"]} '
                             f'{wanted["split"]} ({args.dataset_config} --split {args.split})')
    try:
        metrics = score_folder(mask_root, dataset, evaluator, allow_extra=args.allow_extra, logger=logger)
    except MaskFolderError as e:
        raise SystemExit(str(e)) from None
    title = f'{mask_root}: {type(dataset).__name__} {args.split}, {len(dataset)} clips'
    print_report(evaluator, metrics, manifest, title, Console(file=sys.stdout, width=160))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump({k: float(v) for k, v in metrics.items()}, f, indent=2)
    return metrics


if __name__ == '__main__':
    main()
