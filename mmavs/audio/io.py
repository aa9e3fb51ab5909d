"""Audio file I/O: waveforms (wav, flac, ...) and pre-computed VGGish log-mel files (``.pkl``).

Waveforms are read with ``soundfile``. Pre-computed log-mel examples (AVSBench's ``audio_log_mel/*.pkl``)
are read without executing arbitrary pickled code: ``torch.save`` files go through
``torch.load(weights_only=True)``; plain pickles (what the AVSBench preprocessing writes with
``pickle.dump(tensor)``) go through a small allow-list unpickler that only rebuilds tensors and arrays.
"""
import io
import os
import os.path as osp
import pickle
import struct
import zipfile
from collections import OrderedDict
from typing import Any, Callable, Dict, Tuple

import numpy as np
import soundfile as sf
import torch

#: Sample rate VGGish expects.
VGGISH_SAMPLE_RATE = 16000

# Legacy (non-zip) ``torch.save`` files start with this pickled integer.
_TORCH_LEGACY_MAGIC = 0x1950a86a20f9469cfc6c
# WAV data-chunk sizes that streaming writers use for "unknown length".
_WAV_UNKNOWN_SIZES = (0, 0xFFFFFFFF)


def _check_wav_not_truncated(path: str) -> None:
    """Raise if a RIFF/WAVE file's ``data`` chunk is shorter than its header declares.

    libsndfile silently returns the samples that are present in a truncated file (and zero samples for a
    header-only file), so the check is done here from the chunk headers. Files that are not RIFF/WAVE,
    and data chunks with a streaming placeholder size (0 or 0xFFFFFFFF), are not checked.

    Args:
        path (str): Path of the audio file.

    Raises:
        ValueError: If the ``data`` chunk declares more bytes than the file holds.
    """
    file_size = os.path.getsize(path)
    with open(path, 'rb') as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b'RIFF' or head[8:12] != b'WAVE':
            return
        offset = 12
        while offset + 8 <= file_size:
            f.seek(offset)
            chunk_id, chunk_size = struct.unpack('<4sI', f.read(8))
            if chunk_id == b'data':
                available = file_size - offset - 8
                if chunk_size not in _WAV_UNKNOWN_SIZES and chunk_size > available:
                    raise ValueError(
                        f'Truncated or corrupt WAV file {path}: its header declares {chunk_size} bytes of '
                        f'audio data but the file holds {available}.')
                return
            offset += 8 + chunk_size + (chunk_size & 1)


def read_wav(path: str) -> Tuple[np.ndarray, int]:
    """Read an audio file as float samples in [-1, 1].

    PCM-16 files give exactly ``int16 / 32768`` (what the VGGish / AVSBench reference computes); other
    PCM widths are scaled the same way by their full range, float files are returned as stored.

    This is the one place where mmavs reads waveform files (``LoadClipAudio(source='wav')`` and every
    other reader call it), so the checks below hold everywhere. A file with **zero samples** (e.g. a
    header-only wav) is an error, not silence: it almost always comes from a failed extraction. Recorded
    silence (all-zero samples, ``N > 0``) is valid.

    Args:
        path (str): Path of a file soundfile can read (wav, flac, ogg, ...).

    Returns:
        tuple[np.ndarray, int]: Samples, float32 ``[N]`` for mono or ``[N, C]`` for ``C`` channels,
        and the sample rate in Hz.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If the file is empty, holds zero samples, is unreadable, corrupt or truncated
            (message names the file).
    """
    path = str(path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'Audio file not found: {path}')
    if os.path.getsize(path) == 0:
        raise ValueError(f'Audio file is empty (0 bytes): {path}')
    _check_wav_not_truncated(path)
    try:
        data, sample_rate = sf.read(path, dtype='float32', always_2d=False)
    except (sf.SoundFileError, RuntimeError) as err:
        raise ValueError(f'Cannot read audio file {path}: {err}') from err
    if data.shape[0] == 0:
        raise ValueError(
            f'Audio file {path} holds no samples (0 frames at {sample_rate} Hz, e.g. a header-only wav); '
            'zero-length audio is not silence. Re-extract the audio of this clip.')
    if data.ndim == 2 and data.shape[1] == 1:
        data = data[:, 0]
    return np.ascontiguousarray(data, dtype=np.float32), int(sample_rate)


def to_mono_16k(wav: np.ndarray,
                sample_rate: int,
                target_rate: int = VGGISH_SAMPLE_RATE) -> np.ndarray:
    """Average the channels and resample to ``target_rate`` (16 kHz for VGGish).

    Resampling uses ``torchaudio.functional.resample`` (band-limited sinc interpolation, computed in
    float64) with a Kaiser-windowed filter of the parameters of resampy's ``kaiser_best`` (64 zero
    crossings, roll-off 0.9476, beta 14.77), the resampler the VGGish reference uses. The two
    implementations differ in detail (resampy interpolates a tabulated filter), so resampled features are
    close to, not bit-identical with, the reference. Audio already at ``target_rate`` is not touched.

    Args:
        wav (np.ndarray): Float samples, ``[N]`` (mono) or ``[N, C]`` (samples first, as soundfile).
        sample_rate (int): Sample rate of ``wav`` in Hz.
        target_rate (int): Output sample rate in Hz. Defaults to 16000.

    Returns:
        np.ndarray: float32 ``[M]`` mono samples at ``target_rate``; ``M = 0`` for empty input.

    Raises:
        TypeError: If ``wav`` is not a floating-point array.
        ValueError: If ``wav`` is not 1-D / 2-D or a sample rate is not a positive integer.
    """
    wav = np.asarray(wav)
    if not np.issubdtype(wav.dtype, np.floating):
        raise TypeError(
            f'Expected float samples in [-1, 1], got dtype {wav.dtype} (integer PCM must be scaled, e.g. '
            'int16 / 32768; read_wav does this).')
    if wav.ndim not in (1, 2):
        raise ValueError(f'Expected waveform of shape [N] or [N, C], got shape {wav.shape}.')
    for name, rate in (('sample_rate', sample_rate), ('target_rate', target_rate)):
        if int(rate) != rate or rate <= 0:
            raise ValueError(f'{name} must be a positive integer, got {rate!r}.')
    mono = wav.mean(axis=1) if wav.ndim == 2 else wav
    if int(sample_rate) == int(target_rate) or mono.shape[0] == 0:
        return np.ascontiguousarray(mono, dtype=np.float32)
    import torchaudio.functional as taF  # local: torchaudio is only needed for resampling
    resampled = taF.resample(
        torch.from_numpy(np.ascontiguousarray(mono, dtype=np.float64)),
        orig_freq=int(sample_rate),
        new_freq=int(target_rate),
        lowpass_filter_width=64,
        rolloff=0.9475937167399596,
        resampling_method='sinc_interp_kaiser',
        beta=14.769656459379492)
    return resampled.numpy().astype(np.float32)


# ------------------------------------------------------------------------------------------------------
# Pre-computed log-mel files
# ------------------------------------------------------------------------------------------------------
def _storage_from_bytes(data: bytes) -> Any:
    """Safe replacement of ``torch.storage._load_from_bytes`` (used when a tensor is plainly pickled)."""
    return torch.load(io.BytesIO(data), map_location='cpu', weights_only=True)


def _numpy_reconstruct() -> Callable:
    try:
        from numpy._core.multiarray import _reconstruct  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import _reconstruct
    return _reconstruct


def _numpy_scalar() -> Callable:
    try:
        from numpy._core.multiarray import scalar  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import scalar
    return scalar


def _allowed_globals() -> Dict[Tuple[str, str], Any]:
    """The only globals a plain-pickled log-mel file may reference."""
    reconstruct, scalar = _numpy_reconstruct(), _numpy_scalar()
    allowed: Dict[Tuple[str, str], Any] = {
        ('torch._utils', '_rebuild_tensor_v2'): torch._utils._rebuild_tensor_v2,
        ('torch._utils', '_rebuild_tensor'): torch._utils._rebuild_tensor,
        ('torch.storage', '_load_from_bytes'): _storage_from_bytes,
        ('collections', 'OrderedDict'): OrderedDict,
        ('numpy', 'ndarray'): np.ndarray,
        ('numpy', 'dtype'): np.dtype,
    }
    for mod in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        allowed[(mod, '_reconstruct')] = reconstruct
        allowed[(mod, 'scalar')] = scalar
    for name in dir(np.dtypes) if hasattr(np, 'dtypes') else ():
        if name.endswith('DType'):
            allowed[('numpy.dtypes', name)] = getattr(np.dtypes, name)
    return allowed


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only tensor / ndarray reconstruction globals."""

    def __init__(self, file: Any, path: str) -> None:
        super().__init__(file)
        self._path = path
        self._allowed = _allowed_globals()

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f'{self._path}: refusing to load global "{module}.{name}" (only tensors and numpy arrays '
                'are allowed in log-mel files).') from None


def _load_pickled_object(path: str) -> Any:
    """Load a tensor / array saved with ``torch.save`` (zip or legacy) or ``pickle.dump``, safely."""
    if zipfile.is_zipfile(path):
        return torch.load(path, map_location='cpu', weights_only=True)
    with open(path, 'rb') as f:
        obj = _RestrictedUnpickler(f, path).load()
    if isinstance(obj, int) and obj == _TORCH_LEGACY_MAGIC:
        return torch.load(path, map_location='cpu', weights_only=True)
    return obj


def load_log_mel(path: str) -> np.ndarray:
    """Load pre-computed VGGish log-mel examples (AVSBench ``audio_log_mel/*.pkl``).

    The official files are ``pickle.dump`` of a float32 torch tensor ``[5, 1, 96, 64]`` (it may carry
    ``requires_grad``). ``torch.save`` files and pickled numpy arrays are accepted too. Nothing but
    tensors and arrays is ever unpickled.

    Args:
        path (str): Path of the file.

    Returns:
        np.ndarray: float32 ``[E, 1, 96, 64]`` with ``E >= 1`` examples.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If the file cannot be unpickled safely, does not hold a tensor / array, has the wrong
            shape or holds NaN / Inf (messages name the file, the shape found and the shape expected).
    """
    path = str(path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'Log-mel file not found: {path}')
    try:
        obj = _load_pickled_object(path)
    except (pickle.UnpicklingError, EOFError, RuntimeError, ValueError, TypeError, AttributeError,
            ImportError, IndexError, KeyError, struct.error) as err:
        raise ValueError(f'Cannot load log-mel file {path}: {err}') from err
    if isinstance(obj, torch.Tensor):
        array = obj.detach().cpu().numpy()
    elif isinstance(obj, np.ndarray):
        array = obj
    else:
        raise ValueError(f'Log-mel file {path} holds a {type(obj).__name__}; expected a tensor or array '
                         'of shape [num_examples, 1, 96, 64].')
    if array.ndim != 4 or array.shape[1:] != (1, 96, 64) or array.shape[0] < 1:
        raise ValueError(f'Log-mel file {path} has shape {tuple(array.shape)}; expected '
                         '[num_examples >= 1, 1, 96, 64] (AVSBench: [5, 1, 96, 64]).')
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f'Log-mel file {path} has dtype {array.dtype}; expected floating point.')
    if not np.all(np.isfinite(array)):
        raise ValueError(f'Log-mel file {path} contains NaN or Inf values.')
    return np.ascontiguousarray(array, dtype=np.float32)
