"""Data structures."""
from .avs_data_sample import AVSDataSample
from .sample_batch import frame_ground_truth, stack_frame_field, stack_sample_field

__all__ = ['AVSDataSample', 'stack_sample_field', 'stack_frame_field', 'frame_ground_truth']
