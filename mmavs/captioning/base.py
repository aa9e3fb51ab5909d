"""What a captioner is given and what it returns."""
from dataclasses import dataclass
from typing import List


@dataclass
class ClipToCaption:
    """One clip handed to a captioner.

    Attributes:
        clip_id (str): S4 / MS3 video name or AVSS uid.
        frame_paths (list[str]): Paths of the ``N`` real frames, in order.
        window (int): Segment window; the captioner returns ``ceil(N / window)`` segment captions.
    """
    clip_id: str
    frame_paths: List[str]
    window: int


class BaseCaptioner:
    """Interface of a captioner: :meth:`caption_clip` returns one caption-file entry.

    Backends are registered in :data:`mmavs.registry.CAPTIONERS` under the name the tool's ``--backend``
    takes (``@CAPTIONERS.register_module(name='my-backend')``).
    """

    def caption_clip(self, clip: ClipToCaption) -> dict:
        """Caption one clip.

        Args:
            clip (ClipToCaption): The clip.

        Returns:
            dict: ``{"video": str, "segments": [str] * ceil(N / window), "frames": [str] * N}``.
        """
        raise NotImplementedError
