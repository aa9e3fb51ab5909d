"""Data sample of one clip: typed tensor fields on an MMEngine data element."""
from typing import Any, Callable, Dict, NamedTuple, Tuple

import torch
from mmengine.structures import BaseDataElement
from torch import Tensor


class TensorField(NamedTuple):
    """What a tensor field of :class:`AVSDataSample` holds.

    Attributes:
        shape (str): Documented shape, e.g. ``'[T, H, W]'``; its number of axes is checked.
        kind (str): Checked dtype family: ``'integer'`` (not bool), ``'floating'`` or ``'bool'``.
        doc (str): What the field means.
    """
    shape: str
    kind: str
    doc: str

    @property
    def ndim(self) -> int:
        """Number of axes of :attr:`shape`."""
        return len(self.shape.strip('[]').split(','))


#: Dtype families of the tensor fields: kind -> (phrase for messages, test of a dtype).
_DTYPE_KINDS: Dict[str, Tuple[str, Callable[[torch.dtype], bool]]] = {
    'integer': ('an integer (not bool)',
                lambda dtype: not dtype.is_floating_point and not dtype.is_complex and dtype != torch.bool),
    'floating': ('a floating-point', lambda dtype: dtype.is_floating_point),
    'bool': ('a bool', lambda dtype: dtype == torch.bool),
}


def check_tensor_field(owner: str, name: str, field: TensorField, value: Any) -> None:
    """Check a value for the tensor field ``name`` of ``owner`` (a class name, for the messages).

    Raises:
        TypeError: ``value`` is not a tensor, or its dtype is not of the field's family.
        ValueError: ``value`` has the wrong number of axes.
    """
    where = f'{owner}.{name}'
    if not isinstance(value, Tensor):
        raise TypeError(f'{where} must be a torch.Tensor {field.shape}, got {type(value).__name__}')
    phrase, accepts = _DTYPE_KINDS[field.kind]
    if not accepts(value.dtype):
        raise TypeError(f'{where} must have {phrase} dtype, got {value.dtype}')
    if value.dim() != field.ndim:
        raise ValueError(f'{where} must be {field.shape}, got shape {list(value.shape)}')


def _tensor_property(name: str, field: TensorField) -> property:
    """A data field ``name`` stored as ``_<name>``, as mmseg's ``SegDataSample`` stores its fields.

    The value is checked (:func:`check_tensor_field`) by :meth:`AVSDataSample.set_field`, which every
    assignment goes through; the getter raises AttributeError when the field is not set (so
    ``sample.get(name)`` returns the default); the deleter removes the field.
    """
    private = f'_{name}'

    def fget(self: 'AVSDataSample') -> Tensor:
        if private not in self._data_fields:
            raise AttributeError(f'{type(self).__name__} has no "{name}" {field.shape}')
        return getattr(self, private)

    def fset(self: 'AVSDataSample', value: Tensor) -> None:
        self.set_field(value, private, dtype=Tensor)

    def fdel(self: 'AVSDataSample') -> None:
        delattr(self, private)

    return property(fget, fset, fdel, doc=f'Tensor {field.shape} ({field.kind}): {field.doc}')


class AVSDataSample(BaseDataElement):
    """Annotations and predictions of one AVS clip of ``T`` frames.

    Data fields (:data:`TENSOR_FIELDS`; all optional, typed properties: a value of another type, dtype
    family or number of axes is rejected with an error naming the field):

    - ``gt_masks`` (integer ``[T, H, W]``): ground truth at the pipeline's output size (``img_shape``):
      0/1 for binary subsets (S4, MS3), class index ``0..C-1`` for AVSS. Frames without ground truth
      are filled with ``ignore_index`` (255). Set by ``PackAVSInputs``.
    - ``frame_flags`` (bool ``[T]``): the frame is a real frame (False for padding). Set by
      ``PackAVSInputs``.
    - ``gt_flags`` (bool ``[T]``): the frame has ground truth. Set by ``PackAVSInputs``.
    - ``blank_flags`` (bool ``[T]``, only on clips that have blank frames): the frame is padding that is
      trained as a real frame (``frame_flags`` and ``gt_flags`` True, all-background ground truth, no
      image: the data preprocessor sets it to 0 after normalisation). Only
      ``AVSSDataset(short_v2_train='legacy')`` makes them. Set by ``PackAVSInputs``.
    - ``pred_logits`` (floating ``[T, C, H, W]``): per-frame logits at ``gt_masks``' size (else at
      ``img_shape``), written by the segmentor in ``predict`` mode (``C`` = 1 for binary, 71 for AVSS).
    - ``pred_masks`` (integer ``[T, H, W]``): thresholded (binary, sigmoid > threshold) or arg-maxed
      logits, written with ``pred_logits``.

    Meta fields (``metainfo``, set by ``PackAVSInputs`` from the dataset's ``data_info``; plain values):
    ``vid`` (str), ``subset`` ('s4' | 'ms3' | 'avss'), ``split``, ``num_frames`` (int ``T``),
    ``ori_shape`` / ``img_shape`` (``(H, W)``), ``category`` (S4), ``label_type`` (AVSS: v1s | v1m | v2),
    ``flip`` (bool), ``audio_source`` (the clip whose audio was used; differs from ``vid`` under audio
    shuffling), ``num_classes`` (int) and, with ``with_text=True``, ``captions``
    (``dict(video=str, segments=[str], frames=[str], frame_segment=[int] * T)``). A name of
    :data:`TENSOR_FIELDS` cannot be metainfo. As the tensor fields only take tensors, ``numpy()`` (which
    would store arrays) raises TypeError; ``to()``, ``cpu()``, ``detach()``, ``clone()`` work.

    Examples:
        >>> import torch
        >>> sample = AVSDataSample(metainfo=dict(vid='v1', num_frames=2))
        >>> sample.gt_masks = torch.zeros(2, 4, 4, dtype=torch.long)
        >>> sample.frame_flags = torch.tensor([True, False])
        >>> sorted(sample.keys()), sample.metainfo
        (['frame_flags', 'gt_masks'], {'vid': 'v1', 'num_frames': 2})
        >>> sample.gt_flags = [True, False]
        Traceback (most recent call last):
        TypeError: AVSDataSample.gt_flags must be a torch.Tensor [T], got list
    """

    #: The typed tensor fields: name -> shape, dtype family and meaning.
    TENSOR_FIELDS: Dict[str, TensorField] = {
        'gt_masks': TensorField('[T, H, W]', 'integer', 'ground-truth masks, ignore_index where none'),
        'frame_flags': TensorField('[T]', 'bool', 'True for real frames, False for padding'),
        'gt_flags': TensorField('[T]', 'bool', 'True for frames with ground truth'),
        'blank_flags': TensorField('[T]', 'bool', 'True for padding trained as a real frame (no image)'),
        'pred_logits': TensorField('[T, C, H, W]', 'floating', 'predicted per-frame logits'),
        'pred_masks': TensorField('[T, H, W]', 'integer', 'predicted masks (class index per pixel)'),
    }

    gt_masks = _tensor_property('gt_masks', TENSOR_FIELDS['gt_masks'])
    frame_flags = _tensor_property('frame_flags', TENSOR_FIELDS['frame_flags'])
    gt_flags = _tensor_property('gt_flags', TENSOR_FIELDS['gt_flags'])
    blank_flags = _tensor_property('blank_flags', TENSOR_FIELDS['blank_flags'])
    pred_logits = _tensor_property('pred_logits', TENSOR_FIELDS['pred_logits'])
    pred_masks = _tensor_property('pred_masks', TENSOR_FIELDS['pred_masks'])

    def set_field(self, value: Any, name: str, dtype: Any = None, field_type: str = 'data') -> None:
        """:meth:`BaseDataElement.set_field`, checking the tensor fields before anything is stored.

        Raises:
            AttributeError: ``name`` is one of :data:`TENSOR_FIELDS` and ``field_type`` is 'metainfo'.
            TypeError, ValueError: A value of a tensor field fails :func:`check_tensor_field`.
        """
        field = self.TENSOR_FIELDS.get(name)
        if field is not None:
            if field_type == 'metainfo':
                raise AttributeError(
                    f'{type(self).__name__}: "{name}" is a data field {field.shape}, not metainfo')
            check_tensor_field(type(self).__name__, name, field, value)
        super().set_field(value, name, dtype=dtype, field_type=field_type)

    def pop(self, *args) -> Any:
        """:meth:`BaseDataElement.pop`, also for the tensor fields (stored under ``_<name>``)."""
        name = args[0] if args else None
        if name in self.TENSOR_FIELDS and name in self._data_fields:
            value = getattr(self, name)
            delattr(self, name)
            return value
        return super().pop(*args)
