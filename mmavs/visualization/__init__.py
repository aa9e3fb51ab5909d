"""Drawing AVS frames, ground truth and predictions (MMEngine / mmseg visualisers)."""
from .local_visualizer import AVSLocalVisualizer, clip_frames
from .overlay import (
    DEFAULT_BINARY_COLOR,
    IGNORE_INDEX,
    display_colors,
    draw_legend,
    draw_overlay,
    legend_line_height,
    present_classes,
)

__all__ = [
    'IGNORE_INDEX', 'draw_overlay', 'draw_legend', 'legend_line_height', 'present_classes', 'AVSLocalVisualizer',
    'DEFAULT_BINARY_COLOR', 'clip_frames', 'display_colors'
]
