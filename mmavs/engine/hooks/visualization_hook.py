"""``AVSVisualizationHook``: draw clips with their ground truth and prediction during validation / testing."""
import logging
import os.path as osp
from typing import Optional, Sequence

from mmengine.hooks import Hook
from mmengine.logging import print_log

from mmavs.registry import HOOKS
from mmavs.structures import AVSDataSample


@HOOKS.register_module()
class AVSVisualizationHook(Hook):
    """mmseg's ``SegVisualizationHook`` for clips: every ``interval``-th clip is drawn by the visualiser.

    The runner's visualiser must be an :class:`~mmavs.visualization.AVSLocalVisualizer` (the default of
    ``configs/_base_/default_runtime.py``); it draws the clip's frames (``inputs['frames']`` of the data
    batch, at the size of the masks) with the ground truth and the prediction of the model's outputs.

    - Test mode with ``out_dir``: the image of clip ``vid`` is written to ``{out_dir}/{vid}.png``
      (``tools/test.py --show-dir DIR``).
    - Otherwise (validation, or test without ``out_dir``): the image goes to the visualiser's backends
      as ``{mode}_{vid}``, at step ``runner.iter`` in validation and 0 in testing (``LocalVisBackend``:
      ``vis_data/vis_image/{mode}_{vid}_{step}.png`` in the run's log dir).
    - ``show``: the image is also displayed (matplotlib window, ``wait_time`` seconds); as in mmseg the
      visualiser's backends are then dropped.

    Unlike mmseg's hook, ``interval`` counts clips, not iterations (a batch holds several clips): the clips
    drawn are number 0, ``interval``, ``2 * interval``, ... of each val / test run, in the order the loader
    gives them (with one process and the default sequential sampler: the dataset's order). With several
    processes only the main process draws (MMEngine's visualisers draw on rank 0), i.e. its share of the
    clips.

    Args:
        draw (bool): Draw at all. Defaults to False (the hook does nothing).
        interval (int): Draw every ``interval``-th clip. Defaults to 50 (as mmseg's hook).
        show (bool): Display the images. Defaults to False.
        wait_time (float): Seconds each displayed image stays (0: until a key). Defaults to 0.
        out_dir (str, optional): Folder the test images are written to. Defaults to None (backends).
    """

    def __init__(self,
                 draw: bool = False,
                 interval: int = 50,
                 show: bool = False,
                 wait_time: float = 0.,
                 out_dir: Optional[str] = None) -> None:
        if int(interval) < 1:
            raise ValueError(f'AVSVisualizationHook: interval must be a positive number of clips, got {interval}')
        self.draw = draw
        self.interval = int(interval)
        self.show = show
        self.wait_time = wait_time
        self.out_dir = out_dir
        self._clips_seen = 0

    def before_run(self, runner) -> None:
        """Check the runner's visualiser; with ``show``, drop its backends (as mmseg's hook does)."""
        if not self.draw:
            return
        from mmavs.visualization import AVSLocalVisualizer  # the visualisers import mmseg: only when drawing
        if not isinstance(runner.visualizer, AVSLocalVisualizer):
            raise TypeError(
                f'AVSVisualizationHook draws clips with an AVSLocalVisualizer, but the config\'s visualizer is a '
                f'{type(runner.visualizer).__name__}: set visualizer = dict(type=\'AVSLocalVisualizer\', ...) '
                '(configs/_base_/default_runtime.py does)')
        if self.show:
            runner.visualizer._vis_backends = {}
            print_log('AVSVisualizationHook: show=True, the images are displayed and not stored by the '
                      'visualizer\'s backends', logger='current', level=logging.WARNING)

    def before_val_epoch(self, runner) -> None:
        self._clips_seen = 0

    def before_test_epoch(self, runner) -> None:
        self._clips_seen = 0

    def _after_iter(self,
                    runner,
                    batch_idx: int,
                    data_batch: Optional[dict] = None,
                    outputs: Optional[Sequence[AVSDataSample]] = None,
                    mode: str = 'train') -> None:
        """Draw the clips of this batch whose number is a multiple of ``interval``.

        Args:
            runner (Runner): The runner.
            batch_idx (int): Index of the batch in the loop.
            data_batch (dict): The loader's batch: ``inputs['frames']``, one uint8 ``[T, 3, H, W]`` per clip.
            outputs (Sequence[AVSDataSample]): The model's predictions (``pred_masks``, ``gt_masks``).
            mode (str): 'train' (nothing drawn), 'val' or 'test'.
        """
        if not self.draw or mode == 'train' or not outputs:
            return
        frames = data_batch['inputs']['frames']
        # runner.iter is the train loop's: only asked in validation (in a test run it would build the train loop)
        step = runner.iter if mode == 'val' else 0
        for index, sample in enumerate(outputs):
            number = self._clips_seen
            self._clips_seen += 1
            if number % self.interval:
                continue
            vid = sample.metainfo.get('vid', f'{batch_idx}_{index}')
            out_file = None
            if mode == 'test' and self.out_dir is not None:
                out_file = osp.join(self.out_dir, f'{vid}.png')
            runner.visualizer.add_datasample(
                f'{mode}_{vid}', frames[index], data_sample=sample, show=self.show, wait_time=self.wait_time,
                out_file=out_file, step=step)
