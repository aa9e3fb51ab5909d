"""overlay_frames: every output frame has one height, the frame's plus its video's tallest legend."""
import numpy as np

from mmavs.apis.inferencer import AVSPrediction
from mmavs.apis.overlay_video import overlay_frames
from mmavs.apis.sampling import FrameSampling
from mmavs.datasets.palette import voc_palette
from mmavs.visualization import draw_overlay, legend_line_height
from mmavs.visualization.overlay import LEGEND_BACKGROUND


def _prediction(masks: np.ndarray) -> AVSPrediction:
    num = masks.shape[0]
    return AVSPrediction(name='v', masks=masks, probs=None, frame_times=np.arange(num) + 15 / 16,
                         clip_ids=['v'], frame_clips=np.zeros(num, dtype=np.int64),
                         classes=tuple(f'class {c}' for c in range(71)), palette=voc_palette(71),
                         sampling=FrameSampling())


def test_frames_are_padded_to_the_tallest_legend_not_one_line_per_class():
    height, width = 48, 320
    masks = np.zeros((2, height, width), dtype=np.uint8)
    for c in range(1, 13):  # second 0: 12 classes (several per legend line at this width); second 1: one
        masks[0, :, (c - 1) * 20:c * 20] = c
    masks[1, :10, :10] = 5
    frames = [(k + 0.5, np.full((height, width, 3), 90, dtype=np.uint8)) for k in range(2)]
    out = [image for _, image in overlay_frames(_prediction(masks), frames)]
    # the expected pictures are draw_overlay's, with the one-class legend padded with the legend background
    full = draw_overlay(frames[0][1], masks[0], voc_palette(71), _prediction(masks).classes)
    single = draw_overlay(frames[1][1], masks[1], voc_palette(71), _prediction(masks).classes)
    line = legend_line_height(height, width)
    assert single.shape[0] == height + line
    assert full.shape[0] - height < 12 * line  # legend lines are shared by several classes
    assert [o.shape for o in out] == [full.shape, full.shape]
    np.testing.assert_array_equal(out[0], full)
    np.testing.assert_array_equal(out[1][:single.shape[0]], single)
    assert (out[1][single.shape[0]:] == LEGEND_BACKGROUND).all()
