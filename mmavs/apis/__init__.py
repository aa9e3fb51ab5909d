"""Inference API: build a trained model (:func:`init_model`) and segment clips, frame folders and videos
(:class:`AVSInferencer`); frame sampling and PyAV video I/O. See ``docs/inference.md``."""
from .inference import init_model, model_needs_captions
from .inferencer import AVSInferencer, AVSPrediction
from .inputs import DatasetClip, FrameFolder, VideoFile, as_inference_input
from .overlay_video import mask_index, overlay_frames, save_prediction_masks
from .sampling import BENCHMARK_PHASE, ClipSpec, FrameSampling, PlannedClip, plan_clips
from .split_data import build_split_dataset, collated_batches, predict_samples, split_dataset_cfg
from .video_io import (
                       VIDEO_EXTENSIONS,
                       MissingAudioError,
                       VideoInfo,
                       VideoReadError,
                       frames_at,
                       iter_video_frames,
                       probe_video,
                       read_audio_track,
                       write_video,
)

__all__ = [
    'init_model', 'model_needs_captions', 'AVSInferencer', 'AVSPrediction', 'DatasetClip', 'FrameFolder',
    'VideoFile', 'as_inference_input', 'BENCHMARK_PHASE', 'ClipSpec', 'FrameSampling', 'PlannedClip', 'plan_clips',
    'VIDEO_EXTENSIONS', 'MissingAudioError', 'VideoInfo', 'VideoReadError', 'frames_at', 'iter_video_frames',
    'probe_video', 'read_audio_track', 'write_video', 'mask_index', 'overlay_frames', 'save_prediction_masks',
    'build_split_dataset', 'collated_batches', 'predict_samples', 'split_dataset_cfg'
]
