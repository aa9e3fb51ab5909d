"""Drawing AVS frames, ground truth and predictions (MMEngine / mmseg visualisers)."""
from .overlay import IGNORE_INDEX, draw_legend, draw_overlay, legend_line_height, present_classes

__all__ = ['IGNORE_INDEX', 'draw_overlay', 'draw_legend', 'legend_line_height', 'present_classes']
