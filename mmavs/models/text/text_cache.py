"""On-disk cache of caption embeddings, so that a frozen text encoder encodes each caption only once.

Layout under ``root``::

    {encoder dir}/ENCODER_KEY.txt              the full encoder key (written once)
    {encoder dir}/{h[:2]}/{h}.pt               one file per caption

``encoder dir`` is the encoder key made filesystem-safe plus a short hash of it, and ``h`` is
``sha256(encoder_key + '\\0' + caption)``. Each ``.pt`` file is ``torch.save`` of a dict holding only tensors
and the caption string (loaded back with ``torch.load(..., weights_only=True)``)::

    {'caption': str,                      checked on load (guards against mixed-up files)
     'tokens': Tensor [L_i, C],           the caption's non-padding token embeddings (SOT..EOT)
     'pooled': Tensor [C'] (optional)}    the pooled (EOT) embedding

Files are written atomically (temporary file + rename), so concurrent writers (e.g. DDP ranks) cannot leave
half-written entries behind (:class:`~mmavs.models.utils.tensor_store.TensorFileStore`, which the VGGish
embedding cache shares).
"""
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch

from ..utils.tensor_store import TensorFileStore
from .clip_text_encoder import TextEncoderOutput

#: ``encode_fn(captions) -> (tokens [N, L, C], pooled [N, C'] or None, padding_mask [N, L] bool)``;
#: a :class:`TextEncoderOutput` qualifies.
EncodeFn = Callable[[List[str]], Tuple[torch.Tensor, Optional[torch.Tensor], torch.Tensor]]


def _check_entry(entry: dict) -> Optional[str]:
    """What is wrong with a loaded caption entry, or None."""
    if not isinstance(entry.get('tokens'), torch.Tensor) or entry['tokens'].dim() != 2:
        return "'tokens' must be a 2-D tensor [L, C]"
    if 'pooled' in entry and (not isinstance(entry['pooled'], torch.Tensor) or entry['pooled'].dim() != 1):
        return "'pooled' must be a 1-D tensor [C]"
    return None


class TextEmbeddingCache:
    """Caption embedding cache keyed by (encoder identity, caption string).

    The files are a :class:`~mmavs.models.utils.tensor_store.TensorFileStore` (the layout above).

    Args:
        root (str): Cache root directory (created if missing).
        encoder_key (str): Identity of the encoder: anything that changes the embeddings (architecture,
            weights) must change the key. :meth:`CLIPCaptionEncoder.cache_key` provides one.
        in_memory (bool): Also keep loaded / computed entries in a dict, so that repeated look-ups in one
            process do not read the disk again. Defaults to False.

    Attributes:
        hits (int): Captions served from the cache (unique captions per call).
        misses (int): Captions that had to be encoded (unique captions per call).
    """

    def __init__(self, root: str, encoder_key: str, in_memory: bool = False) -> None:
        if not isinstance(encoder_key, str) or not encoder_key:
            raise ValueError(f'TextEmbeddingCache: encoder_key must be a non-empty str, got {encoder_key!r}.')
        self.store = TensorFileStore(root, encoder_key, 'caption', 'TextEmbeddingCache',
                                     identity_file='ENCODER_KEY.txt', in_memory=in_memory)
        self.root, self.encoder_key, self.in_memory = self.store.root, encoder_key, in_memory
        self.encoder_dir = self.store.identity_dir
        self.hits = 0
        self.misses = 0

    # ------------------------------------------------------------------ paths and single entries
    def path_for(self, caption: str) -> str:
        """Path of the cache file of ``caption`` (whether it exists or not)."""
        return self.store.path_for(caption)

    def contains(self, caption: str) -> bool:
        """Whether ``caption`` is cached (in memory or on disk)."""
        return self.store.contains(caption)

    def stats(self) -> Dict[str, int]:
        """``{'hits': int, 'misses': int}`` since construction (or :meth:`reset_stats`)."""
        return dict(hits=self.hits, misses=self.misses)

    def reset_stats(self) -> None:
        """Zero the hit / miss counters."""
        self.hits = self.misses = 0

    def load(self, caption: str) -> Dict[str, torch.Tensor]:
        """Load the entry of one caption.

        Args:
            caption (str): The caption.

        Returns:
            dict: ``tokens`` ``[L_i, C]`` and, if stored, ``pooled`` ``[C']`` (CPU tensors).

        Raises:
            FileNotFoundError: The caption is not cached.
            ValueError: The file is unreadable or not a valid entry of this caption (the message names it).
        """
        return self.store.load(caption, _check_entry)

    def save(self, caption: str, tokens: torch.Tensor, pooled: Optional[torch.Tensor] = None) -> str:
        """Store one caption's embeddings (atomically).

        Args:
            caption (str): The caption.
            tokens (Tensor): Non-padding token embeddings ``[L_i, C]``.
            pooled (Tensor, optional): Pooled embedding ``[C']``.

        Returns:
            str: The written file's path.
        """
        if tokens.dim() != 2:
            raise ValueError(f'TextEmbeddingCache.save: tokens must be [L, C], got {tuple(tokens.shape)}.')
        entry = {'tokens': tokens}
        if pooled is not None:
            if pooled.dim() != 1:
                raise ValueError(f'TextEmbeddingCache.save: pooled must be [C], got {tuple(pooled.shape)}.')
            entry['pooled'] = pooled
        return self.store.save(caption, entry)

    # ------------------------------------------------------------------ batched API
    def compute_missing(self, captions: Sequence[str], encode_fn: EncodeFn, batch_size: int = 64) -> int:
        """Encode and store the captions that are not cached yet.

        Args:
            captions (Sequence[str]): Captions (duplicates are encoded once).
            encode_fn (callable): See :data:`EncodeFn`.
            batch_size (int): Captions per ``encode_fn`` call. Defaults to 64.

        Returns:
            int: Number of captions encoded (0 when everything was cached). Updates ``hits`` / ``misses``.
        """
        if batch_size < 1:
            raise ValueError(f'TextEmbeddingCache: batch_size must be >= 1, got {batch_size}.')
        unique = list(dict.fromkeys(captions))
        for caption in unique:
            if not isinstance(caption, str):
                raise TypeError(f'TextEmbeddingCache: captions must be str, got {type(caption).__name__} '
                                f'({caption!r}).')
        missing = [c for c in unique if not self.contains(c)]
        self.hits += len(unique) - len(missing)
        self.misses += len(missing)
        for start in range(0, len(missing), batch_size):
            chunk = missing[start:start + batch_size]
            tokens, pooled, padding_mask = self._check_encoded(encode_fn(chunk), len(chunk))
            for j, caption in enumerate(chunk):
                self.save(caption, tokens[j][~padding_mask[j]], None if pooled is None else pooled[j])
        return len(missing)

    def get_or_compute(self, captions: Sequence[str], encode_fn: EncodeFn, batch_size: int = 64,
                       pad_to: Optional[int] = None) -> TextEncoderOutput:
        """Embeddings of ``captions``, encoding (and caching) only those not cached yet.

        Args:
            captions (Sequence[str]): N captions (duplicates allowed).
            encode_fn (callable): See :data:`EncodeFn`; called only for cache misses, in chunks.
            batch_size (int): Captions per ``encode_fn`` call. Defaults to 64.
            pad_to (int, optional): Pad the token axis to this length (e.g. 77) instead of the longest
                caption of the call; must be >= every caption's length.

        Returns:
            TextEncoderOutput: tokens ``[N, L, C]`` (each caption's non-padding tokens first, zeros after),
            pooled ``[N, C']`` (None if the entries hold no pooled embedding) and padding_mask ``[N, L]``
            (True = padding).
        """
        captions = list(captions)
        self.compute_missing(captions, encode_fn, batch_size)
        entries = [self.load(c) for c in captions]
        return collate_text_entries(entries, pad_to=pad_to)

    @staticmethod
    def _check_encoded(out, n: int) -> Tuple[torch.Tensor, Optional[torch.Tensor], torch.Tensor]:
        try:
            tokens, pooled, padding_mask = out
        except (TypeError, ValueError) as err:
            raise TypeError('TextEmbeddingCache: encode_fn must return (tokens [N, L, C], pooled [N, C] or None, '
                            f'padding_mask [N, L]), got {type(out).__name__}.') from err
        if tokens.dim() != 3 or tokens.shape[0] != n:
            raise ValueError(f'TextEmbeddingCache: encode_fn returned tokens {tuple(tokens.shape)} for {n} captions; '
                             'expected [N, L, C].')
        if padding_mask.shape != tokens.shape[:2] or padding_mask.dtype != torch.bool:
            raise ValueError(f'TextEmbeddingCache: encode_fn returned padding_mask {tuple(padding_mask.shape)} '
                             f'({padding_mask.dtype}); expected bool {tuple(tokens.shape[:2])}.')
        if pooled is not None and (pooled.dim() != 2 or pooled.shape[0] != n):
            raise ValueError(f'TextEmbeddingCache: encode_fn returned pooled {tuple(pooled.shape)}; expected [N, C].')
        return tokens, pooled, padding_mask


def collate_text_entries(entries: Sequence[Dict[str, torch.Tensor]],
                         pad_to: Optional[int] = None) -> TextEncoderOutput:
    """Stack cache entries into padded batch tensors.

    Args:
        entries (Sequence[dict]): N entries with ``tokens`` ``[L_i, C]`` and optionally ``pooled`` ``[C']``
            (all or none of them).
        pad_to (int, optional): Token-axis length; defaults to ``max L_i``.

    Returns:
        TextEncoderOutput: tokens ``[N, L, C]``, pooled ``[N, C']`` or None, padding_mask ``[N, L]``.
    """
    if not entries:
        raise ValueError('collate_text_entries: no entries.')
    # int(): under jit tracing (FLOP counting) sizes are traced tensors, which a set does not merge
    lengths = [int(e['tokens'].shape[0]) for e in entries]
    channels = {int(e['tokens'].shape[1]) for e in entries}
    if len(channels) != 1:
        raise ValueError(f'collate_text_entries: entries have different widths {sorted(channels)}.')
    length = max(lengths) if pad_to is None else pad_to
    if length < max(lengths):
        raise ValueError(f'collate_text_entries: pad_to={pad_to} is shorter than the longest caption '
                         f'({max(lengths)} tokens).')
    ref = entries[0]['tokens']
    tokens = ref.new_zeros(len(entries), length, channels.pop())
    padding_mask = torch.ones(len(entries), length, dtype=torch.bool)
    for i, (e, n) in enumerate(zip(entries, lengths)):
        tokens[i, :n] = e['tokens']
        padding_mask[i, :n] = False
    has_pooled = ['pooled' in e for e in entries]
    if any(has_pooled) and not all(has_pooled):
        raise ValueError('collate_text_entries: some entries have a pooled embedding and some do not.')
    pooled = torch.stack([e['pooled'] for e in entries]) if all(has_pooled) else None
    return TextEncoderOutput(tokens=tokens, pooled=pooled, padding_mask=padding_mask)
