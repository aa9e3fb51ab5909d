"""Write every predicted mask of the test loop in the AVSBench layout, with a manifest and a results zip.

Why a hook rather than a writer inside the evaluator: the files need the data samples of every test batch
(``after_test_iter`` receives them) and the manifest needs the metrics of the whole split
(``after_test_epoch`` receives them); a metric sees the samples but not the values of the other metrics,
and a second metric would change what ``Evaluator`` returns and prints. As a hook, writing leaves the
evaluation untouched: what is scored and printed is exactly what ``tools/test.py`` prints without it.
"""
import hashlib
import json
import os
import os.path as osp
import tempfile
import zipfile
from collections import Counter
from contextlib import suppress
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Sequence, Tuple

from mmengine.dist import all_gather_object, barrier, is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log

from mmavs.evaluation import mask_files
from mmavs.evaluation.functional import logits_to_binary_masks, logits_to_class_masks
from mmavs.registry import HOOKS
from mmavs.utils.file_hash import file_sha256
from mmavs.version import __version__

from ..atomic_file import atomic_write

#: File names written beside ``pred_masks`` (and into the zip).
MANIFEST_NAME = 'manifest.json'
CONFIG_NAME = 'config.py'
#: Version of the manifest's layout.
MANIFEST_FORMAT = 1


def results_zip_name(subset: str, split: str) -> str:
    """File name of the results archive of one dataset split: ``segmentation_results_{subset}_{split}.zip``."""
    return f'segmentation_results_{subset}_{split}.zip'


@HOOKS.register_module()
class SavePredMasksHook(Hook):
    """Save the test predictions as the AVSBench scripts do, and package them with their metrics.

    For every clip of the test loop, the ``T`` masks decided as the metric decides them (binary:
    ``sigmoid(logit) > 0.5`` in float32; AVSS: arg-max of the softmax; padded AVSS frames included, as
    the official script writes 10 per clip) are written to ``{out_dir}/pred_masks`` with the official
    names (:mod:`mmavs.evaluation.mask_files`), at the size of ``pred_logits``, which the segmentor
    resizes to the ground truth the metric scores (``gt_masks``; 224x224 in the legacy pipelines). The
    segmentor's own ``pred_masks`` (its ``test_cfg.threshold``) are not used, so that the files re-score
    to the printed J. Every rank writes the clips it predicted.

    After the test epoch, rank 0 writes ``{out_dir}/manifest.json`` (mmavs version, UTC date, config
    file and the resolved config's SHA-256, checkpoint path and SHA-256, dataset subset / split / clips,
    mask layout, number of files and their sizes, metric values) and ``{out_dir}/config.py`` (the
    resolved config); with ``zip=True`` also ``{out_dir}/segmentation_results_{subset}_{split}.zip``
    holding ``manifest.json``, ``config.py`` and ``pred_masks/...``.

    A run writes one dataset split of one subset. ``{out_dir}/pred_masks`` must be empty or absent at
    the start (stale masks of another run would be scored as extra files); the hook stops otherwise.

    Args:
        out_dir (str): Output directory (the official scripts' log dir: masks go to its ``pred_masks``).
        zip (bool): Also write the results archive. Defaults to False.
        checkpoint (str, optional): The evaluated checkpoint, for the manifest (path and SHA-256).
            ``tools/test.py --save-pred`` passes it.
    """

    priority = 'NORMAL'

    def __init__(self, out_dir: str, zip: bool = False, checkpoint: Optional[str] = None) -> None:
        if not out_dir:
            raise ValueError('SavePredMasksHook: out_dir must be a directory path')
        self.out_dir = osp.abspath(out_dir)
        self.mask_root = osp.join(self.out_dir, mask_files.PRED_MASKS_DIRNAME)
        self.zip = bool(zip)
        self.checkpoint = checkpoint
        self._palette: Optional[List[List[int]]] = None
        self._written: List[Tuple[str, str, str, int, int]] = []  # (subset, split, relpath, H, W)

    # ------------------------------------------------------------------ test loop
    def before_test(self, runner) -> None:
        """Check that ``pred_masks`` holds no files yet; take the palette from the test dataset."""
        stale = self._existing_files()
        barrier()  # every rank checked before any writes
        if stale:
            raise FileExistsError(
                f'SavePredMasksHook: "{self.mask_root}" already holds {len(stale)} file(s) (e.g. '
                f'"{osp.join(self.mask_root, stale[0])}"); masks of another run would mix with this one\'s. '
                'Choose another --save-pred directory or delete that folder.')
        dataset = getattr(runner.test_dataloader, 'dataset', None)
        palette = getattr(dataset, 'metainfo', {}).get('palette')
        self._palette = None if palette is None else [list(map(int, c)) for c in palette]
        self._written = []

    def _existing_files(self) -> List[str]:
        found = []
        for folder, _, names in os.walk(self.mask_root):
            found += [osp.relpath(osp.join(folder, name), self.mask_root) for name in names]
        return sorted(found)

    def after_test_iter(self,
                        runner,
                        batch_idx: int,
                        data_batch: Any = None,
                        outputs: Optional[Sequence[Any]] = None) -> None:
        """Write the masks of every clip of the batch (``outputs``: the predicted ``AVSDataSample`` s)."""
        for sample in outputs or ():
            self._write_clip(sample)

    def _write_clip(self, sample: Any) -> None:
        meta = sample.metainfo
        vid, subset = meta.get('vid'), meta.get('subset')
        logits = sample.get('pred_logits', None)
        if logits is None:
            raise KeyError(f'SavePredMasksHook: the prediction of clip {vid!r} has no pred_logits')
        binary = subset in mask_files.BINARY_SUBSETS
        if binary != (logits.shape[1] == 1):
            raise ValueError(
                f'SavePredMasksHook: clip {vid!r} of subset {subset!r} has pred_logits '
                f'{tuple(logits.shape)}; expected {"1 channel" if binary else "one channel per class"}')
        masks = logits_to_binary_masks(logits[:, 0]) if binary else logits_to_class_masks(logits)
        masks = masks.cpu().numpy()
        relpaths = mask_files.clip_pred_mask_relpaths(meta)
        if len(relpaths) != masks.shape[0]:
            raise ValueError(f'SavePredMasksHook: clip {vid!r} has num_frames={len(relpaths)} but '
                             f'{masks.shape[0]} predicted frames')
        for relpath, mask in zip(relpaths, masks):
            mask_files.write_pred_mask(osp.join(self.mask_root, relpath), mask, subset, self._palette)
            self._written.append((subset, meta.get('split'), relpath) + tuple(mask.shape))

    def after_test_epoch(self, runner, metrics: Optional[Dict[str, float]] = None) -> None:
        """Write the manifest (and the zip) on rank 0 once every rank has written its masks."""
        written = [item for part in all_gather_object(self._written) for item in part]
        if is_main_process():
            self._finish(runner, written, metrics or {})
        barrier()

    # ------------------------------------------------------------------ outputs
    def _finish(self, runner, written: List[Tuple[str, str, str, int, int]], metrics: Dict[str, float]) -> None:
        splits = sorted({(subset, split) for subset, split, *_ in written})
        if not splits:
            raise RuntimeError('SavePredMasksHook: the test loop predicted no clip; nothing was written')
        if len(splits) > 1:
            raise ValueError(
                f'SavePredMasksHook: one run must test one dataset split of one subset, got {splits}; '
                'the official layout has no split folder, so their masks would mix')
        subset, split = splits[0]
        relpaths = sorted({relpath for _, _, relpath, _, _ in written})  # samplers may repeat clips
        sizes = Counter((h, w) for (h, w) in {relpath: (h, w) for _, _, relpath, h, w in written}.values())
        config_text = runner.cfg.pretty_text
        manifest = dict(
            format=MANIFEST_FORMAT,
            mmavs_version=__version__,
            date=datetime.now(timezone.utc).isoformat(timespec='seconds'),
            config=dict(file=runner.cfg.filename, resolved=CONFIG_NAME,
                        resolved_sha256=hashlib.sha256(config_text.encode('utf-8')).hexdigest()),
            checkpoint=dict(path=self.checkpoint, sha256=self._checkpoint_sha256()),
            dataset=dict(subset=subset, split=split, clips=len({osp.dirname(p) for p in relpaths})),
            masks=dict(
                folder=mask_files.PRED_MASKS_DIRNAME,
                files=len(relpaths),
                layout=mask_files.pred_mask_relpath(subset, '{vid}', 0, '{category}').replace('_0.png', '_{t}.png'),
                frames='numbered from 0; all T frames of a clip (padded AVSS frames included)',
                format=('PNG mode P, grey palette, 0 / 255 (sigmoid > 0.5), as AVSBench save_mask'
                        if subset in mask_files.BINARY_SUBSETS else
                        'PNG mode P, index = class (arg-max), palette = the dataset palette'),
                sizes_hw={f'{h}x{w}': n for (h, w), n in sorted(sizes.items())}),
            metrics={key: float(value) for key, value in metrics.items() if isinstance(value, (int, float))})
        manifest_bytes = (json.dumps(manifest, indent=2) + '\n').encode('utf-8')
        atomic_write(osp.join(self.out_dir, MANIFEST_NAME), manifest_bytes)
        atomic_write(osp.join(self.out_dir, CONFIG_NAME), config_text.encode('utf-8'))
        message = (f'SavePredMasksHook: {len(relpaths)} predicted masks of {subset} {split} in "{self.mask_root}", '
                   f'manifest "{osp.join(self.out_dir, MANIFEST_NAME)}"')
        if self.zip:
            archive = osp.join(self.out_dir, results_zip_name(subset, split))
            self._write_zip(archive, relpaths, manifest_bytes, config_text)
            message += f', archive "{archive}"'
        print_log(message, logger='current')

    def _checkpoint_sha256(self) -> Optional[str]:
        if self.checkpoint is None or not osp.isfile(self.checkpoint):
            return None  # not given, or a URL: the path alone is recorded
        return file_sha256(self.checkpoint)

    def _write_zip(self, archive: str, relpaths: List[str], manifest: bytes, config_text: str) -> None:
        """Write the archive to a temporary file beside it and rename it into place."""
        fd, tmp = tempfile.mkstemp(dir=self.out_dir, prefix=f'.{osp.basename(archive)}.', suffix='.mmavs-tmp')
        os.close(fd)
        try:
            with zipfile.ZipFile(tmp, 'w', compression=zipfile.ZIP_DEFLATED) as zf:
                zf.writestr(MANIFEST_NAME, manifest)
                zf.writestr(CONFIG_NAME, config_text)
                for relpath in relpaths:
                    zf.write(osp.join(self.mask_root, relpath), f'{mask_files.PRED_MASKS_DIRNAME}/{relpath}')
            os.replace(tmp, archive)
        except BaseException:
            with suppress(OSError):
                os.remove(tmp)
            raise
