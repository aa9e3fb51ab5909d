"""Per-frame prototypes of a model's decoder features, labelled by class, for feature-space analyses.

The prototypes are the ones CDCL contrasts (:class:`mmavs.models.losses.CDCLLoss`), taken from the decoder
outputs after the audio-visual interaction:

- ``visual``: masked average pooling (:func:`~mmavs.models.losses.cdcl_loss.masked_average_pool`) of
  ``outputs['pixel_features']`` ``[N, d, h, w]`` over the ground truth, area-downsampled to ``h x w``;
- ``audio``: the mean of ``outputs['audio_queries']`` ``[N, Q, d]`` over the queries.

Frames are selected as CDCL selects them: real frames (``frame_flags``) with ground truth (``gt_flags``)
whose ground truth has foreground (:func:`~mmavs.models.losses.cdcl_loss.gt_foreground`). Labels:

- binary models (S4): one row per frame, over the whole foreground, labelled with the clip's ``category``
  metainfo. MS3 clips have no class; give ``label_key`` (a metainfo field) or use an S4 / AVSS set;
- multi-class models (AVSS): one row per (frame, class present in its ground truth), the visual prototype
  pooled over that class's pixels only, labelled with the class name (``dataset.metainfo['classes']``);
  the audio prototype is the frame's, so a frame with two classes gives the same audio point twice, once
  per label;
- ``label_key``: one row per frame (whole foreground, any task), labelled ``str(metainfo[label_key])``.

The model runs Runner-free: ``model.data_preprocessor(batch, False)``, ``model.extract_feat`` and
``model.decode`` (what ``test_step`` / ``predict`` do, without the mask head's resizing). The first clip is
decoded alone, so a model without the needed outputs or a dataset without labels fails at once.
"""
import logging
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.logging import print_log
from torch import Tensor, nn

from mmavs.apis.split_data import collated_batches
from mmavs.models.losses.cdcl_loss import gt_foreground, masked_average_pool
from mmavs.models.losses.counterfactual_losses import gather_gt

#: Feature kinds and the decoder output each is computed from.
FEATURE_OUTPUTS: Dict[str, str] = {'visual': 'pixel_features', 'audio': 'audio_queries'}
#: Metainfo field of the binary subsets' class (S4).
DEFAULT_LABEL_KEY = 'category'


class PrototypeError(ValueError):
    """The model or the dataset cannot give labelled prototypes; the message says what is missing."""


@dataclass
class Prototypes:
    """Labelled prototypes of ``n`` rows.

    Attributes:
        features (dict[str, np.ndarray]): Float32 ``[n, d]`` per feature kind (``'visual'``, ``'audio'``).
        labels (list[str]): Class name of each row.
        vids (list[str]): Clip of each row.
        frames (np.ndarray): Int ``[n]`` frame index of each row within its clip.
        clips (np.ndarray): Int ``[n]`` index of each row's clip (in the batch for :func:`batch_prototypes`,
            in the dataset for :func:`extract_prototypes`).
        num_frames (int): Selected frames (``n`` except for multi-class per-class rows).
    """
    features: Dict[str, np.ndarray]
    labels: List[str] = field(default_factory=list)
    vids: List[str] = field(default_factory=list)
    frames: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    clips: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    num_frames: int = 0

    def __len__(self) -> int:
        return len(self.labels)

    def select(self, rows: Sequence) -> 'Prototypes':
        """The rows ``rows`` (a bool mask of length ``n`` or indices), in that order."""
        rows = np.asarray(rows)
        index = np.flatnonzero(rows) if rows.dtype == bool else rows.astype(np.int64)
        if index.size == 0:
            index = np.zeros(0, dtype=np.int64)
        return Prototypes(
            features={k: v[index] for k, v in self.features.items()},
            labels=[self.labels[i] for i in index],
            vids=[self.vids[i] for i in index],
            frames=self.frames[index],
            clips=self.clips[index],
            num_frames=len(set(zip(self.clips[index].tolist(), self.frames[index].tolist()))))


def check_kinds(kinds: Sequence[str]) -> Tuple[str, ...]:
    """Validate feature kinds (non-empty, known, no repeats); returns them as a tuple."""
    kinds = tuple(kinds)
    unknown = [k for k in kinds if k not in FEATURE_OUTPUTS]
    if not kinds or unknown or len(set(kinds)) != len(kinds):
        raise ValueError(f'feature kinds must be distinct values of {sorted(FEATURE_OUTPUTS)}, got {list(kinds)}')
    return kinds


def check_outputs(outputs: Dict[str, Tensor], kinds: Sequence[str], source: str) -> None:
    """Raise :class:`PrototypeError` naming the first decoder output of ``kinds`` that is missing or misshaped.

    Args:
        outputs (dict): The dict returned by ``model.decode``.
        kinds (Sequence[str]): Feature kinds asked for.
        source (str): What produced the model (e.g. its config file), for the message.
    """
    dims = {'pixel_features': 4, 'audio_queries': 3}
    for kind in kinds:
        key = FEATURE_OUTPUTS[kind]
        value = outputs.get(key, None)
        if not torch.is_tensor(value):
            raise PrototypeError(
                f'{source}: the decoder outputs have no {key!r} (needed for the {kind} prototypes; outputs: '
                f'{sorted(outputs)}). Prototypes need a decoder returning pixel_features [N, d, h, w] and '
                'audio_queries [N, Q, d], such as AVQueryDecoder / CounterfactualDecoder')
        if value.dim() != dims[key]:
            raise PrototypeError(f'{source}: decoder output {key!r} must have {dims[key]} dims, got '
                                 f'{tuple(value.shape)}')


def resolve_label_key(num_classes: int, metainfo: dict, label_key: Optional[str], source: str) -> Optional[str]:
    """The metainfo field labelling whole frames, or None for per-class rows of a multi-class model.

    Args:
        num_classes (int): The model's output channels (1: binary).
        metainfo (dict): Metainfo of the first clip.
        label_key (str, optional): The user's field; None picks ``'category'`` for binary models.
        source (str): The dataset / config, for the message.

    Raises:
        PrototypeError: The field is not in the metainfo (binary without ``label_key``: MS3).
    """
    if label_key is None and num_classes > 1:
        return None
    key = label_key or DEFAULT_LABEL_KEY
    if metainfo.get(key, None) is None:
        fields = sorted(k for k, v in metainfo.items() if isinstance(v, (str, int)))
        if label_key is None:
            raise PrototypeError(
                f'{source}: the clips of this binary dataset have no {DEFAULT_LABEL_KEY!r} (MS3 has no class '
                'labels): class labels are needed to colour and score the features. Use an S4 or AVSS set, '
                f'or name a metainfo field with --label-key KEY (fields of the first clip: {fields})')
        raise PrototypeError(f'{source}: --label-key {label_key!r} is not in the metainfo of clip '
                             f'{metainfo.get("vid")!r} (fields: {fields})')
    return key


def batch_prototypes(outputs: Dict[str, Tensor], data_samples: Sequence, kinds: Sequence[str],
                     num_classes: int, class_names: Sequence[str], label_key: Optional[str],
                     ignore_index: int = 255) -> Prototypes:
    """Labelled prototypes of one decoded batch (see the module docstring for the rows and labels).

    Args:
        outputs (dict): ``model.decode`` outputs for ``N = B*T`` frames (clip-major).
        data_samples (Sequence[AVSDataSample]): The ``B`` clips (``gt_masks`` ``[T, H, W]``, flags, metainfo).
        kinds (Sequence[str]): Feature kinds (checked with :func:`check_outputs` before).
        num_classes (int): Output channels ``C`` of the model.
        class_names (Sequence[str]): Names of the mask values (per-class rows).
        label_key (str, optional): Metainfo field labelling whole frames; None: per-class rows.
        ignore_index (int): Ignored GT value.

    Returns:
        Prototypes: Rows of the selected frames of the batch, in frame order.
    """
    ref = outputs[FEATURE_OUTPUTS[kinds[0]]]
    n_all = ref.shape[0]
    gt = gather_gt('batch_prototypes', data_samples, n_all, ref.device, ignore_index)
    fg = gt_foreground(gt['gt_masks'], num_classes, ignore_index)
    selected = (gt['gt_valid'] & (fg.flatten(1).sum(1) > 0)).nonzero(as_tuple=True)[0]
    per_clip = n_all // len(data_samples)
    rows, weights, labels = [], [], []
    for i in selected.tolist():
        sample = data_samples[i // per_clip]
        if label_key is not None:
            value = sample.metainfo.get(label_key, None)
            if value is None:
                raise PrototypeError(f'clip {sample.metainfo.get("vid")!r} has no metainfo {label_key!r}')
            rows.append(i)
            weights.append(fg[i])
            labels.append(str(value))
            continue
        mask = gt['gt_masks'][i]
        for c in torch.unique(mask[(mask != 0) & (mask != ignore_index)]).tolist():
            if c >= len(class_names):
                raise PrototypeError(f'clip {sample.metainfo.get("vid")!r}: GT value {c} has no class name '
                                     f'({len(class_names)} classes)')
            rows.append(i)
            weights.append((mask == c).float())
            labels.append(str(class_names[c]))
    index = torch.as_tensor(rows, dtype=torch.long, device=ref.device)
    features = {}
    for kind in kinds:
        value = outputs[FEATURE_OUTPUTS[kind]]
        if not rows:
            proto = value.new_zeros(0, value.shape[1] if kind == 'visual' else value.shape[-1])
        elif kind == 'visual':
            proto = masked_average_pool(value[index], torch.stack(weights))
        else:
            proto = value[index].mean(dim=1)
        features[kind] = proto.detach().float().cpu().numpy()
    return Prototypes(
        features=features,
        labels=labels,
        vids=[str(data_samples[i // per_clip].metainfo.get('vid', i // per_clip)) for i in rows],
        frames=np.asarray([i % per_clip for i in rows], dtype=np.int64),
        clips=np.asarray([i // per_clip for i in rows], dtype=np.int64),
        num_frames=int(selected.numel()))


def concat_prototypes(parts: Sequence[Prototypes], kinds: Sequence[str]) -> Prototypes:
    """Rows of several :class:`Prototypes`, in order."""
    return Prototypes(
        features={k: np.concatenate([p.features[k] for p in parts]) for k in kinds},
        labels=[label for p in parts for label in p.labels],
        vids=[vid for p in parts for vid in p.vids],
        frames=np.concatenate([p.frames for p in parts]),
        clips=np.concatenate([p.clips for p in parts]),
        num_frames=sum(p.num_frames for p in parts))


def decode_batch(model: nn.Module, batch: dict) -> Tuple[Dict[str, Tensor], list]:
    """``model.data_preprocessor`` + ``extract_feat`` + ``decode`` of a collated batch (no grad)."""
    with torch.no_grad():
        data = model.data_preprocessor(batch, False)
        feats = model.extract_feat(data['inputs'])
        return model.decode(data['inputs'], feats, data['data_samples']), data['data_samples']


def extract_prototypes(model: nn.Module,
                       dataset,
                       kinds: Sequence[str] = ('visual', 'audio'),
                       label_key: Optional[str] = None,
                       batch_size: int = 2,
                       max_frames: Optional[int] = None,
                       seed: int = 0,
                       source: str = 'model') -> Prototypes:
    """Labelled decoder prototypes of the selected frames of a dataset.

    Args:
        model (nn.Module): A segmentor with ``data_preprocessor``, ``extract_feat``, ``decode`` and
            ``num_classes`` (e.g. from :func:`mmavs.apis.init_model`); put in eval mode here.
        dataset: A built AVS dataset (items ``dict(inputs=..., data_samples=...)``; ``metainfo['classes']``
            names the classes of multi-class masks).
        kinds (Sequence[str]): Feature kinds, ``'visual'`` and / or ``'audio'``.
        label_key (str, optional): Metainfo field labelling whole frames (see the module docstring).
        batch_size (int): Clips per forward pass.
        max_frames (int, optional): Keep at most this many selected frames: clips are visited in a seeded
            random order (datasets are often sorted by class) until enough frames are found; the rows are
            returned in dataset order.
        seed (int): Seed of that order.
        source (str): Name of the model's config, for error messages.

    Returns:
        Prototypes: ``features[kind]`` float32 ``[n, d]``, labels, vids and frame indices.

    Raises:
        PrototypeError: The decoder outputs lack a needed key, or the clips have no labels (checked on the
            first clip, before the loop).
    """
    kinds = check_kinds(kinds)
    if max_frames is not None and max_frames < 1:
        raise ValueError(f'max_frames must be >= 1, got {max_frames}')
    if len(dataset) == 0:
        raise PrototypeError(f'{source}: the dataset has no clips')
    num_classes = int(getattr(model, 'num_classes', 1))
    class_names = tuple(dataset.metainfo.get('classes', ()))
    order = list(range(len(dataset)))
    if max_frames is not None:
        order = np.random.default_rng(seed).permutation(len(dataset)).tolist()
    model.eval()
    # the first clip alone: missing outputs or labels fail before the long loop
    outputs, samples = decode_batch(model, next(collated_batches(dataset, 1, order[:1])))
    check_outputs(outputs, kinds, source)
    key = resolve_label_key(num_classes, samples[0].metainfo, label_key, f'{source} (dataset '
                            f'{type(dataset).__name__} at "{getattr(dataset, "data_root", "?")}")')
    if key is None and not class_names:
        raise PrototypeError(f'{source}: the multi-class dataset {type(dataset).__name__} has no '
                             "metainfo['classes'] to name the GT values")
    parts = [batch_prototypes(outputs, samples, kinds, num_classes, class_names, key)]
    parts[0].clips = np.asarray(order[:1], dtype=np.int64)[parts[0].clips]
    found = parts[0].num_frames
    for start in range(1, len(order), batch_size):
        if max_frames is not None and found >= max_frames:
            break
        chunk = order[start:start + batch_size]
        outputs, samples = decode_batch(model, next(collated_batches(dataset, len(chunk), chunk)))
        part = batch_prototypes(outputs, samples, kinds, num_classes, class_names, key)
        part.clips = np.asarray(chunk, dtype=np.int64)[part.clips]  # batch -> dataset index
        parts.append(part)
        found += part.num_frames
    result = concat_prototypes(parts, kinds)
    if max_frames is not None:
        frame_keys = list(zip(result.clips.tolist(), result.frames.tolist()))
        kept = set(list(dict.fromkeys(frame_keys))[:max_frames])  # the first max_frames frames visited
        if len(kept) < max_frames:
            print_log(f'{source}: max_frames={max_frames}, but the split has only {len(kept)} selected frames',
                      logger='current', level=logging.INFO)
        result = result.select([k in kept for k in frame_keys])
    # rows in dataset order (the visiting order is random under max_frames); stable for per-class rows
    return result.select(np.lexsort((result.frames, result.clips)))
