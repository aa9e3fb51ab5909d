"""Registered evaluation metrics."""
from .avs_metric import AVSMetric
from .negative_audio_metric import NegativeAudioMetric

__all__ = ['AVSMetric', 'NegativeAudioMetric']
