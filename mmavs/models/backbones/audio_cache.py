"""On-disk cache of frozen VGGish embeddings, so that epochs after the first do not run VGGish.

Entries are keyed by the clip's log-mel examples themselves (sha256 of their bytes, shape and dtype), under the
identity of the VGGish weights: the same sound gives the same entry whichever dataset, split or clip name it
comes from, a perturbed or shuffled sound is simply another entry, and loading other weights starts another
identity folder. One file per clip (``[T, 128]`` for the official VGGish), in the layout of
:class:`~mmavs.models.utils.tensor_store.TensorFileStore`; an in-memory copy serves repeated look-ups in one
process.
"""
import hashlib
from typing import Callable, Dict, Optional

import torch

from ..utils.tensor_store import TensorFileStore

#: ``embed_fn(examples [M, 1, 96, 64]) -> embeddings [M, E]``.
EmbedFn = Callable[[torch.Tensor], torch.Tensor]


def examples_digest(examples: torch.Tensor) -> str:
    """sha256 hex of a clip's log-mel examples (values, shape and dtype)."""
    t = examples.detach().cpu().contiguous()
    h = hashlib.sha256(f'{tuple(t.shape)}:{t.dtype}'.encode())
    h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b'')
    return h.hexdigest()


class AudioEmbeddingCache:
    """VGGish embeddings of clips, computed once per (weights, sound).

    Args:
        root (str): Cache folder (shared across runs and DDP ranks).
        identity (str): Identity of the frozen VGGish (``AudioBackbone.cache_key()``).

    Attributes:
        hits (int): Clips served from the cache.
        misses (int): Clips that had to be embedded.
    """

    def __init__(self, root: str, identity: str) -> None:
        self.store = TensorFileStore(root, identity, 'examples', 'AudioEmbeddingCache', in_memory=True)
        self.hits = 0
        self.misses = 0

    @staticmethod
    def _check(examples_count: int) -> Callable[[dict], Optional[str]]:
        def check(entry: dict) -> Optional[str]:
            emb = entry.get('embedding')
            if not isinstance(emb, torch.Tensor) or emb.dim() != 2 or emb.shape[0] != examples_count:
                return f"'embedding' must be a [{examples_count}, E] tensor"
            return None

        return check

    def get_or_compute(self, clips: torch.Tensor, embed_fn: EmbedFn) -> torch.Tensor:
        """Embeddings of ``clips``, running ``embed_fn`` on the clips not cached yet (in one call).

        Args:
            clips (Tensor): ``[B, T, 1, 96, 64]`` log-mel examples, one row per clip.
            embed_fn (callable): See :data:`EmbedFn`.

        Returns:
            Tensor: float32 ``[B, T, E]`` on the device of ``clips``.
        """
        if clips.dim() != 5:
            raise ValueError(f'AudioEmbeddingCache: clips must be [B, T, 1, 96, 64], got {tuple(clips.shape)}')
        num_frames = clips.shape[1]
        names = [examples_digest(clip) for clip in clips]
        entries: Dict[str, torch.Tensor] = {}
        missing: Dict[str, int] = {}  # name -> row of its first clip in the batch
        for i, name in enumerate(names):
            if name in entries or name in missing:
                continue
            if self.store.contains(name):
                entries[name] = self.store.load(name, self._check(num_frames))['embedding']
            else:
                missing[name] = i
        self.hits += len(names) - len(missing)
        self.misses += len(missing)
        if missing:
            rows = list(missing.values())
            computed = embed_fn(clips[rows].flatten(0, 1)).reshape(len(rows), num_frames, -1)
            for name, embedding in zip(missing, computed):
                embedding = embedding.detach().float().cpu()
                self.store.save(name, dict(embedding=embedding))
                entries[name] = embedding
        return torch.stack([entries[name] for name in names]).to(clips.device)
