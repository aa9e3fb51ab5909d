"""AVSInferencer: per-frame masks of a dataset clip, a frame folder + wav, or a video file.

The shape follows mmseg's ``MMSegInferencer`` (an MMEngine ``BaseInferencer``): the model comes from a config
and a checkpoint (:func:`~mmavs.apis.inference.build_inference_model`: strict load, no Runner), inputs go
through the config's **test pipeline** (a ``Compose`` of its transforms, without the ground-truth loader),
the model's ``test_step`` predicts, :meth:`AVSInferencer.postprocess` packs the results. What differs from an
image inferencer is that one input is many clips: a video is sampled (:mod:`mmavs.apis.sampling`: AVSBench's
frame timestamps, or a denser rate), cut into consecutive clips of the model's ``T`` frames, and the
predictions of all clips are put back together per input.

Everything that can be checked is checked before any frame is decoded: every input exists and is readable,
videos have an audio track (or ``allow_silent``) and last at least one frame interval, and an ICF model with
MIT text has captions for every clip (a caption file, checked clip by clip, or a captioner backend).
"""
import logging
import math
import os.path as osp
import tempfile
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.dataset import Compose, pseudo_collate
from mmengine.infer import BaseInferencer
from mmengine.logging import print_log
from PIL import Image
from rich.progress import Progress
from torch import Tensor

from mmavs.audio import read_wav, to_mono_16k
from mmavs.captioning import BaseCaptioner, ClipToCaption
from mmavs.datasets.caption_file import clip_caption_info, load_caption_file, num_real_frames
from mmavs.registry import CAPTIONERS, DATASETS, TRANSFORMS, build_from_mmavs
from mmavs.structures import AVSDataSample

from .inference import (
    AUDIO_LOADER,
    FRAME_LOADER,
    MASK_LOADER,
    build_inference_model,
    clip_spec,
    find_transform,
    lazy_dataset,
    load_inference_config,
    model_needs_captions,
    pipeline_without,
    segment_window_of,
    test_dataset_cfg,
    transform_names,
)
from .inputs import DatasetClip, FrameFolder, InferenceInput, as_inference_input
from .sampling import BENCHMARK_PHASE, FrameSampling, PlannedClip, clip_audio_examples, plan_clips
from .video_io import MissingAudioError, VideoInfo, frames_at, probe_video, read_audio_track

#: Classes of logits upsampled at a time (bounds the memory of multi-class predictions at full resolution).
_CLASS_CHUNK = 8


@dataclass
class AVSPrediction:
    """The predictions of one input: one mask per sampled frame, at the frame's own resolution.

    Attributes:
        name (str): Video / folder name, or the dataset clip id.
        masks (np.ndarray): ``[K, H, W]`` per-pixel class index, uint8 (int64 beyond 256 classes): 0 / 1 for
            binary models (background / sounding object), ``0..C-1`` for AVSS (names in :attr:`classes`).
            The model's logits are resized (bilinear) to ``H x W`` before thresholding / arg-max.
        probs (np.ndarray | None): float32 ``[K, H, W]``: ``sigmoid`` of the logit (binary: the probability
            of 'sounding object'), or the softmax probability of the predicted class (multi-class). None with
            ``return_probs=False``.
        frame_times (np.ndarray): float64 ``[K]``, seconds from the first video frame (videos), or the
            nominal ``k + 15/16`` s of the benchmark's frames (frame folders, dataset clips).
        clip_ids (list[str]): Id of each clip (caption-file key): the name for a single clip, else
            ``{name}_{c}``.
        frame_clips (np.ndarray): int64 ``[K]``: clip number of each frame.
        classes (tuple[str]): Name of each mask value.
        palette (list[list[int]]): RGB colour of each mask value (the dataset palette).
        sampling (FrameSampling): How the frames were sampled.
        frame_indices (np.ndarray | None): int64 ``[K]``, decoded index of each frame in the video.
        frame_paths (list[str] | None): The frame files (frame folders, dataset clips).
        video (VideoInfo | None): The video's probe.
    """
    name: str
    masks: np.ndarray
    probs: Optional[np.ndarray]
    frame_times: np.ndarray
    clip_ids: List[str]
    frame_clips: np.ndarray
    classes: Tuple[str, ...]
    palette: List[List[int]]
    sampling: FrameSampling
    frame_indices: Optional[np.ndarray] = None
    frame_paths: Optional[List[str]] = None
    video: Optional[VideoInfo] = None

    @property
    def num_frames(self) -> int:
        """``K``, the number of sampled frames."""
        return int(self.masks.shape[0])


@dataclass
class _Job:
    """One input, planned: its clips, their captions and what to read."""
    index: int
    source: InferenceInput
    name: str
    clips: List[PlannedClip]
    times: np.ndarray
    captions: Dict[str, dict] = field(default_factory=dict)
    video: Optional[VideoInfo] = None
    frame_paths: Optional[List[str]] = None
    audio_path: Optional[str] = None
    dataset_index: Optional[int] = None
    frame_indices: List[int] = field(default_factory=list)


def frame_prediction(logits: Tensor, size: Sequence[int], threshold: float,
                     resize: Callable[[Tensor, Sequence[int]], Tensor],
                     with_prob: bool = True) -> Tuple[Tensor, Optional[Tensor]]:
    """Mask and probability of one frame at ``size``, from its logits at the model's resolution.

    Multi-class logits are resized :data:`_CLASS_CHUNK` classes at a time while a running maximum, arg-max
    and softmax denominator are kept, so a frame of 71 classes at 1080p never holds all resized logits; the
    result equals resizing all logits and taking ``argmax`` / ``softmax`` (resizing is per channel).

    Args:
        logits (Tensor): ``[C, h, w]``.
        size (Sequence[int]): ``(H, W)``.
        threshold (float): Threshold on ``sigmoid`` for ``C = 1`` (the model's ``test_cfg.threshold``).
        resize (Callable): ``[N, C, h, w], (H, W) -> [N, C, H, W]`` (the segmentor's ``resize_logits``).
        with_prob (bool): Also compute the probability (else None is returned for it). Defaults to True.

    Returns:
        tuple[Tensor, Tensor | None]: long ``[H, W]`` mask and float ``[H, W]`` probability.
    """
    if logits.shape[0] == 1:
        prob = resize(logits[None].float(), size)[0, 0].sigmoid()
        return (prob > threshold).long(), prob if with_prob else None
    best = denom = label = None
    for start in range(0, logits.shape[0], _CLASS_CHUNK):
        chunk = resize(logits[None, start:start + _CLASS_CHUNK].float(), size)[0]
        chunk_max, chunk_arg = chunk.max(dim=0)
        if best is None:
            best, label = chunk_max, chunk_arg
            denom = torch.exp(chunk - best).sum(dim=0) if with_prob else None
            continue
        new_best = torch.maximum(best, chunk_max)
        if with_prob:
            denom = denom * torch.exp(best - new_best) + torch.exp(chunk - new_best).sum(dim=0)
        label = torch.where(chunk_max > best, chunk_arg + start, label)
        best = new_best
    return label, 1.0 / denom if with_prob else None


class AVSInferencer(BaseInferencer):
    """Audio-visual segmentation of dataset clips, frame folders + wav, and videos.

    Examples::

        >>> from mmavs.apis import AVSInferencer, DatasetClip
        >>> inferencer = AVSInferencer('configs/baseline/baseline_tiny_synthetic_s4.py', 'epoch_8.pth')
        >>> pred = inferencer('talk.mp4')['predictions']          # AVSPrediction
        >>> pred.masks.shape, pred.frame_times[:2]                  # (60, 720, 1280) for 60 s; [0.9375, 1.9375]
        >>> inferencer(DatasetClip('test', 'abc123'))['predictions']
        >>> inferencer(dict(frames='clip/frames', audio='clip/audio.wav'))['predictions']

    Inputs (one or a list; see :func:`~mmavs.apis.as_inference_input`):

    - :class:`DatasetClip` ``(split, clip)``: a clip of the config's test dataset (``data_root`` must hold the
      data), read by the dataset and its test pipeline (ground-truth masks are not loaded);
    - :class:`FrameFolder` ``(frames, audio)`` or a folder path: frames sampled the benchmark's way (one per
      second, in name order) and their wav, cut into clips of ``T`` frames and ``T`` seconds;
    - :class:`VideoFile` or a file path (mp4 / mkv / webm / mov): decoded with PyAV, sampled with
      :class:`~mmavs.apis.sampling.FrameSampling` (AVSBench's ``k + 15/16`` s by default, ``fps`` for a denser
      rate), audio down-mixed and resampled to 16 kHz by the VGGish front-end
      (:func:`mmavs.audio.to_mono_16k`, :func:`mmavs.audio.waveform_to_examples`).

    A long input is processed as consecutive clips of ``T`` frames (5 for S4 / MS3, 10 for AVSS), the last
    one completed the way the model was trained (repeated last frame for S4 / MS3, flagged padding for AVSS;
    :mod:`mmavs.apis.sampling`), so every sampled frame gets a mask.

    MIT text (an ``ICFSegmentor`` with a ``text_encoder``): the clips of frame folders and videos need
    captions, from ``caption_file`` (the format of ``docs/captions.md``, keyed by clip id: the input's name,
    or ``{name}_{c}`` when it has several clips; checked for every clip before anything is decoded) or from
    ``captioner`` (a backend of :data:`mmavs.registry.CAPTIONERS`, run on the real frames of each clip).
    Without either, the call stops at once with a ``ValueError`` saying so. Dataset clips use the dataset's
    caption file (``caption_file`` replaces it).

    Args:
        model (str | Config): Config file or object.
        weights (str, optional): Checkpoint (strictly loaded). None: random weights (with a warning).
        device (str, optional): Torch device; default: CUDA if available, else CPU.
        caption_file (str, optional): MIT caption file.
        captioner (BaseCaptioner | dict | str, optional): Caption backend: an instance, a ``CAPTIONERS`` config
            dict, or a registered name without arguments.
        fps (float, optional): Sample videos at this rate (frames at ``(k + 1/2) / fps`` s, audio example
            centred on each) instead of the benchmark's one frame per second. Videos only.
        allow_silent (bool): Run videos without an audio track on silence (all-zero audio) instead of
            raising :class:`~mmavs.apis.video_io.MissingAudioError`. Defaults to False.
        cfg_options (dict, optional): Config overrides.
        allow_partial (bool): Load a checkpoint that does not fit completely (see
            :func:`~mmavs.apis.init_model`). Defaults to False.
        show_progress (bool): Show a progress bar over the clips. Defaults to True.
    """

    preprocess_kwargs: set = set()
    forward_kwargs: set = set()
    visualize_kwargs: set = set()
    postprocess_kwargs: set = {'return_probs'}

    def __init__(self,
                 model: Any,
                 weights: Optional[str] = None,
                 device: Optional[str] = None,
                 caption_file: Optional[str] = None,
                 captioner: Union[BaseCaptioner, dict, str, None] = None,
                 fps: Optional[float] = None,
                 allow_silent: bool = False,
                 cfg_options: Optional[dict] = None,
                 allow_partial: bool = False,
                 show_progress: bool = True) -> None:
        if caption_file is not None and captioner is not None:
            raise ValueError('AVSInferencer: give caption_file or captioner, not both')
        if caption_file is not None and not osp.isfile(caption_file):
            raise FileNotFoundError(f'caption file "{caption_file}" does not exist')
        if weights is not None and '://' not in str(weights) and not osp.isfile(str(weights)):
            raise FileNotFoundError(f'checkpoint file "{weights}" does not exist')
        self.sampling = FrameSampling.benchmark() if fps is None else FrameSampling.dense(fps)
        self.allow_silent = bool(allow_silent)
        self.caption_file = caption_file
        self._captions_cache: Optional[Dict[str, dict]] = None
        self.captioner = self._build_captioner(captioner)
        self._allow_partial = allow_partial
        cfg = load_inference_config(model, cfg_options)
        self.needs_captions = model_needs_captions(cfg)
        self._datasets: Dict[str, Any] = {}
        super().__init__(model=cfg, weights=weights, device=device, scope='mmavs', show_progress=show_progress)

    # ------------------------------------------------------------------ set-up (BaseInferencer hooks)
    @staticmethod
    def _build_captioner(captioner: Union[BaseCaptioner, dict, str, None]) -> Optional[BaseCaptioner]:
        if captioner is None or isinstance(captioner, BaseCaptioner):
            return captioner
        if isinstance(captioner, str):
            captioner = dict(type=captioner)
        if isinstance(captioner, Mapping):
            return CAPTIONERS.build(dict(captioner))
        raise TypeError(f'captioner must be a BaseCaptioner, a CAPTIONERS config dict or a name, got '
                        f'{type(captioner).__name__}')

    def _init_model(self, cfg, weights: Optional[str], device: str = 'cpu') -> torch.nn.Module:
        """Build the model and load ``weights`` strictly (:func:`~mmavs.apis.inference.build_inference_model`)."""
        return build_inference_model(cfg, weights, device, self._allow_partial)

    def _init_pipeline(self, cfg) -> Compose:
        """The test pipeline for clips whose frames and audio are already decoded.

        Also sets :attr:`frames_pipeline` (frame files: the config's ``LoadClipFrames`` first) and
        :attr:`dataset_pipeline` (dataset clips: the test pipeline without ``LoadClipMasks``), and the model's
        clip specification :attr:`spec`.
        """
        dataset_cfg = test_dataset_cfg(cfg)
        pipeline = list(dataset_cfg['pipeline'])
        names = transform_names(pipeline)
        if 'PackAVSInputs' not in names:
            raise ValueError(f'the test pipeline of the config ({names}) has no PackAVSInputs')
        changing = [n for n in names if 'Crop' in n or 'Flip' in n]
        if changing:
            print_log(f'the test pipeline crops or flips ({changing}): masks are resized to the frame size as '
                      'if it only resized', logger='current', level=logging.WARNING)
        dataset = lazy_dataset(cfg)
        self.spec = clip_spec(cfg, dataset)
        self.segment_window = segment_window_of(dataset_cfg, self.spec)
        self.dataset_pipeline = pipeline_without(pipeline, (MASK_LOADER, ))
        rest = [build_from_mmavs(TRANSFORMS, t)
                for t in pipeline_without(pipeline, (MASK_LOADER, FRAME_LOADER, AUDIO_LOADER))]
        frame_loader = find_transform(pipeline, FRAME_LOADER) or dict(type=FRAME_LOADER)
        self.frames_pipeline = Compose([build_from_mmavs(TRANSFORMS, dict(frame_loader))] + rest)
        return Compose(rest)

    def _init_collate(self, cfg) -> Callable:
        """``pseudo_collate``: :class:`~mmavs.models.AVSDataPreprocessor` stacks the clips."""
        return pseudo_collate

    def _init_visualizer(self, cfg) -> None:
        """No MMEngine visualizer: the demos draw overlays with :func:`mmavs.visualization.draw_overlay`."""
        return None

    # ------------------------------------------------------------------ planning (all checks, no decoding)
    def _inputs_to_list(self, inputs: Any) -> List[InferenceInput]:
        if isinstance(inputs, (list, tuple)):
            return [as_inference_input(x) for x in inputs]
        return [as_inference_input(inputs)]

    def _caption_entries(self) -> Dict[str, dict]:
        if self._captions_cache is None:
            self._captions_cache = load_caption_file(self.caption_file)
        return self._captions_cache

    def _dataset(self, split: str):
        """The config's test dataset of ``split`` (loaded once), with the inference pipeline."""
        if split not in self._datasets:
            cfg = dict(test_dataset_cfg(self.cfg), split=split, test_mode=True, pipeline=self.dataset_pipeline)
            if self.needs_captions:
                cfg['with_text'] = True
                if self.caption_file is not None:
                    cfg['caption_file'] = osp.abspath(self.caption_file)
            dataset = DATASETS.build(cfg)
            dataset.full_init()
            self._datasets[split] = (dataset, {dataset.get_data_info(i)['vid']: i for i in range(len(dataset))})
        return self._datasets[split]

    def plan(self, source: InferenceInput, index: int = 0) -> _Job:
        """Check one input and plan its clips, without decoding frames or audio.

        Raises:
            FileNotFoundError, ValueError, KeyError: Bad input (each message names the file): a missing /
                empty / unreadable video (:class:`~mmavs.apis.video_io.VideoReadError`), a video without
                audio (unless ``allow_silent``), a video shorter than one frame interval, a frame folder
                without a wav, a clip name not in the dataset split or a caption file without the clip
                (KeyError), MIT without any caption source.
        """
        if isinstance(source, DatasetClip):
            dataset, index_of = self._dataset(source.split)
            if source.clip not in index_of:
                some = sorted(index_of)[:5]
                raise KeyError(f'clip "{source.clip}" is not in the {source.split!r} split of '
                               f'{type(dataset).__name__} at "{dataset.data_root}" (e.g. {some})')
            info = dataset.get_data_info(index_of[source.clip])
            real = num_real_frames(info['frame_paths'], source.clip)
            clip = PlannedClip(0, source.clip, 0, real, int(info['num_frames']), self.spec.padding)
            paths = list(info['frame_paths'][:real])
            return _Job(index, source, source.name, [clip], (np.arange(real) + BENCHMARK_PHASE),
                        frame_paths=paths, dataset_index=index_of[source.clip])
        if isinstance(source, FrameFolder):
            if self.sampling.centred_audio:
                raise ValueError(f'frame folder "{source.frames}": fps applies to videos only (the frames of a '
                                 'folder are taken as sampled at one per second)')
            paths = source.frame_paths()
            job = _Job(index, source, source.name, plan_clips(len(paths), self.spec, source.name),
                       np.arange(len(paths)) + BENCHMARK_PHASE, frame_paths=paths, audio_path=source.audio_path())
        else:
            info = probe_video(source.path)
            if not info.has_audio and not self.allow_silent:
                raise MissingAudioError(f'video file "{source.path}" has no audio track: the model segments what '
                                        'makes the sound. Pass allow_silent=True (demos: --allow-silent) to run it '
                                        'on silence.')
            times = self.sampling.times(info.duration, source.path)
            job = _Job(index, source, source.name, plan_clips(len(times), self.spec, source.name), times,
                       video=info)
        if self.needs_captions:
            self._plan_captions(job)
        return job

    def _plan_captions(self, job: _Job) -> None:
        """Check (caption file) or defer (captioner) the captions of every clip of a job."""
        if self.caption_file is None and self.captioner is None:
            raise ValueError(f'{type(self.model).__name__} uses MIT text (its config sets model.text_encoder), so '
                             f'the clips of "{job.name}" need captions: pass caption_file=<json in the format of '
                             'docs/captions.md, keyed by clip id> or captioner=<a CAPTIONERS backend> (demos: '
                             '--caption-file / --captioner)')
        if self.caption_file is not None:
            entries = self._caption_entries()
            for clip in job.clips:
                job.captions[clip.clip_id] = self._clip_captions(entries, clip, self.caption_file)

    def _clip_captions(self, entries: Mapping[str, dict], clip: PlannedClip, source: str) -> dict:
        """The ``captions`` of a clip: checked entry; repeated frames repeat the last real frame's captions."""
        info = clip_caption_info(entries, clip.clip_id, clip.num_real, clip.num_frames, self.segment_window, source)
        if clip.padding == 'repeat' and clip.num_real < clip.num_frames:
            extra = clip.num_frames - clip.num_real
            info['frames'] = info['frames'] + [info['frames'][-1]] * extra
            segment = info['frame_segment'][clip.num_real - 1]
            info['frame_segment'] = info['frame_segment'][:clip.num_real] + [segment] * extra
        return info

    # ------------------------------------------------------------------ preprocessing
    def _waveform(self, job: _Job) -> np.ndarray:
        """Mono 16 kHz audio of a frame folder / video, sample 0 at the first frame."""
        if job.audio_path is not None:
            wav, rate = read_wav(job.audio_path)
            return to_mono_16k(wav, rate)
        try:
            samples, rate = read_audio_track(job.video.path, job.video)
        except MissingAudioError:
            if not self.allow_silent:
                raise
            print_log(f'video "{job.video.path}" has no audio track: running on silence (allow_silent)',
                      logger='current', level=logging.WARNING)
            return np.zeros(int(math.ceil(job.video.duration * 16000)), np.float32)
        return to_mono_16k(samples, rate)

    def _captioned(self, job: _Job, clip: PlannedClip, frames: Optional[List[np.ndarray]]) -> dict:
        """Captions of a clip from the captioner (frames of videos written to temporary PNG files)."""
        if frames is None:
            paths = [job.frame_paths[i] for i in clip.frame_ids]
            entry = self.captioner.caption_clip(ClipToCaption(clip.clip_id, paths, self.segment_window))
        else:
            with tempfile.TemporaryDirectory(prefix='mmavs_caption_') as folder:
                paths = []
                for k, frame in enumerate(frames[:clip.num_real]):
                    paths.append(osp.join(folder, f'{clip.clip_id}_{k}.png'))
                    Image.fromarray(frame).save(paths[-1])
                entry = self.captioner.caption_clip(ClipToCaption(clip.clip_id, paths, self.segment_window))
        return self._clip_captions({clip.clip_id: entry}, clip, f'captioner {type(self.captioner).__name__}')

    def _clip_inputs(self, job: _Job) -> Iterator[dict]:
        """The packed clips of a frame folder / video job (``inputs`` and ``data_samples``)."""
        waveform = self._waveform(job)
        source = job.audio_path or job.video.path
        decoded = frames_at(job.video.path, job.times, job.video) if job.video is not None else None
        for clip in job.clips:
            results = dict(vid=clip.clip_id, subset=self.spec.subset, split='inference', num_frames=clip.num_frames,
                           frame_flags=clip.frame_flags, gt_flags=[False] * clip.num_frames,
                           num_classes=int(getattr(self.model, 'num_classes', 1)),
                           audio=clip_audio_examples(waveform, clip, self.sampling, self.spec, job.times, source))
            frames = None
            if decoded is not None:
                frames, indices = [], []
                for _ in range(clip.num_real):
                    index, frame = next(decoded)
                    frames.append(frame)
                    indices.append(index)
                job.frame_indices.extend(indices)
                stack = [frames[i - clip.first] if i is not None else np.zeros_like(frames[0])
                         for i in clip.sources]
                results.update(frames=np.stack(stack), ori_shape=frames[0].shape[:2], img_shape=frames[0].shape[:2])
            else:
                results['frame_paths'] = [job.frame_paths[i] if i is not None else None for i in clip.sources]
            if self.needs_captions:
                captions = job.captions.get(clip.clip_id)
                results['captions'] = captions if captions is not None else self._captioned(job, clip, frames)
            packed = (self.pipeline if decoded is not None else self.frames_pipeline)(results)
            yield self._tag(packed, job, clip)

    @staticmethod
    def _tag(packed: dict, job: _Job, clip: PlannedClip) -> dict:
        packed['data_samples'].set_metainfo(dict(inference_job=job.index, inference_clip=clip.index,
                                                 inference_frames=clip.frame_ids))
        return packed

    def preprocess(self, jobs: Sequence[_Job], batch_size: int = 1, **kwargs) -> Iterator[Tuple[_Job, dict]]:
        """Packed, collated batches of up to ``batch_size`` clips of one input at a time.

        Yields:
            tuple[_Job, dict]: The input's job and ``collate_fn`` of its packed clips.
        """
        for job in jobs:
            if job.dataset_index is not None:
                dataset, _ = self._dataset(job.source.split)
                clips = iter([self._tag(dataset[job.dataset_index], job, job.clips[0])])
            else:
                clips = self._clip_inputs(job)
            for chunk in self._get_chunk_data(clips, batch_size):
                yield job, self.collate_fn(chunk)

    # ------------------------------------------------------------------ running
    def __call__(self, inputs: Any, return_datasamples: bool = False, batch_size: int = 1,
                 **kwargs) -> Dict[str, Any]:
        """Segment one input or a list of inputs.

        Args:
            inputs: A video path, a frame folder, a :class:`DatasetClip` / :class:`FrameFolder` /
                :class:`VideoFile`, an input dict, or a list of them.
            return_datasamples (bool): Return the model's :class:`AVSDataSample` of every clip (logits at the
                model's input size) instead of :class:`AVSPrediction`. Defaults to False.
            batch_size (int): Clips per forward pass. Defaults to 1.
            return_probs (bool): Keep the per-pixel probabilities (:attr:`AVSPrediction.probs`). Defaults to
                True.

        Returns:
            dict: ``predictions``: an :class:`AVSPrediction` (a list for a list of inputs), or the data samples;
            ``visualization``: None (the demos draw overlays).
        """
        if batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        _, _, _, post_kwargs = self._dispatch_kwargs(**kwargs)
        single = not isinstance(inputs, (list, tuple))
        jobs = [self.plan(source, i) for i, source in enumerate(self._inputs_to_list(inputs))]
        total = sum(len(job.clips) for job in jobs)
        samples: List[List[AVSDataSample]] = [[] for _ in jobs]
        partial: List[List[Tuple[np.ndarray, Optional[np.ndarray]]]] = [[] for _ in jobs]
        with Progress(disable=not self.show_progress, transient=False) as progress:
            task = progress.add_task(f'Segmenting {total} clip(s)', total=total)
            for job, data in self.preprocess(jobs, batch_size=batch_size):
                for sample in self.forward(data):
                    if return_datasamples:
                        samples[job.index].append(sample.cpu())
                    else:
                        partial[job.index].extend(self._frame_results(sample, post_kwargs.get('return_probs', True)))
                    progress.advance(task)
        if return_datasamples:
            return dict(predictions=[s for per_job in samples for s in per_job], visualization=None)
        preds = [self.postprocess_job(job, partial[job.index], **post_kwargs) for job in jobs]
        return dict(predictions=preds[0] if single else preds, visualization=None)

    def _frame_results(self, sample: AVSDataSample, return_probs: bool) -> List[Tuple[np.ndarray, Any]]:
        """``(mask, prob)`` of each real frame of a predicted clip, at its frame size (``ori_shape``)."""
        meta = sample.metainfo
        size = meta['ori_shape'][:2]
        logits = sample.pred_logits
        flags = sample.frame_flags.tolist()
        dtype = np.uint8 if logits.shape[1] <= 256 else np.int64
        threshold = float(getattr(self.model, 'threshold', 0.5))
        out = []
        for t in range(len(meta['inference_frames'])):
            if not flags[t]:
                raise RuntimeError(f'clip "{meta.get("vid")}": real frame {t} is flagged as padding')
            mask, prob = frame_prediction(logits[t], size, threshold, self.model.resize_logits, return_probs)
            out.append((mask.cpu().numpy().astype(dtype), None if prob is None else prob.cpu().numpy()))
        return out

    def postprocess_job(self, job: _Job, frames: List[Tuple[np.ndarray, Optional[np.ndarray]]],
                        return_probs: bool = True) -> AVSPrediction:
        """Put the frames of all clips of an input together into an :class:`AVSPrediction`."""
        meta = self.model.dataset_meta
        if len(frames) != len(job.times):
            raise RuntimeError(f'"{job.name}": {len(frames)} predicted frames for {len(job.times)} sampled frames')
        return AVSPrediction(
            name=job.name,
            masks=np.stack([m for m, _ in frames]),
            probs=np.stack([p for _, p in frames]) if return_probs else None,
            frame_times=np.asarray(job.times, dtype=np.float64),
            clip_ids=[c.clip_id for c in job.clips],
            frame_clips=np.concatenate([np.full(c.num_real, c.index, np.int64) for c in job.clips]),
            classes=tuple(meta['classes']),
            palette=[list(c) for c in meta['palette']],
            sampling=self.sampling if job.video is not None else FrameSampling.benchmark(),
            frame_indices=np.asarray(job.frame_indices, dtype=np.int64) if job.video is not None else None,
            frame_paths=job.frame_paths,
            video=job.video)

    def visualize(self, inputs: list, preds: Any, **kwargs) -> None:
        """Not used: the demos draw overlays with :func:`mmavs.visualization.draw_overlay`."""
        return None

    def postprocess(self, preds: Any, visualization: Any, return_datasample: bool = False, **kwargs) -> dict:
        """BaseInferencer's hook; :meth:`__call__` packs per input with :meth:`postprocess_job` instead."""
        return dict(predictions=preds, visualization=visualization)
