"""The ``'local-model'`` backend: frame captions from a local image-captioning model.

Segment and video captions are composed from the frame captions (:func:`compose_captions`). Needs the
optional dependency ``transformers``; nothing is downloaded.
"""
import json
import os.path as osp
from typing import List, Sequence

import numpy as np

from mmavs.datasets.caption_windows import segment_windows
from mmavs.registry import CAPTIONERS

from .base import BaseCaptioner, ClipToCaption


def compose_captions(captions: Sequence[str]) -> str:
    """Caption of a group of frames from their frame captions.

    Rule: the distinct frame captions (stripped, compared exactly) in order of first appearance,
    joined with ``'; '``. A segment whose frames all got the same caption gets that caption.

    Args:
        captions (Sequence[str]): Frame captions, in frame order (at least one).

    Returns:
        str: The composed caption.
    """
    distinct: List[str] = []
    for caption in captions:
        caption = caption.strip()
        if caption not in distinct:
            distinct.append(caption)
    return '; '.join(distinct)


@CAPTIONERS.register_module(name='local-model')
class LocalModelCaptioner(BaseCaptioner):
    """Frame captions from a local image-captioning model; segment / video captions composed from them.

    The folder holds a model saved with ``save_pretrained`` (``config.json`` and weights), its tokenizer
    and its image processor (``preprocessor_config.json``). The model is loaded with
    ``VisionEncoderDecoderModel`` when its config says ``vision-encoder-decoder``, else with
    ``AutoModelForImageTextToText`` (or ``AutoModelForVision2Seq`` on older ``transformers``); images go
    through ``AutoImageProcessor`` and ``generate(pixel_values=...)``, outputs through the tokenizer's
    ``batch_decode(skip_special_tokens=True)``. Nothing is downloaded (``local_files_only``).

    Segment captions: :func:`compose_captions` of the segment's frame captions; video caption:
    :func:`compose_captions` of all frame captions.

    Args:
        model_dir (str): The model folder.
        device (str): Torch device. Defaults to 'cpu'.
        batch_size (int): Frames per ``generate`` call. Defaults to 8.
        max_new_tokens (int): Generation length limit. Defaults to 30.
        num_beams (int): Beam width. Defaults to 1 (greedy).

    Raises:
        ImportError: ``transformers`` is not installed (it is optional).
        FileNotFoundError: ``model_dir`` is not a folder with ``config.json``.
    """

    def __init__(self,
                 model_dir: str,
                 device: str = 'cpu',
                 batch_size: int = 8,
                 max_new_tokens: int = 30,
                 num_beams: int = 1) -> None:
        try:
            import transformers
        except ImportError:
            raise ImportError(
                'LocalModelCaptioner needs the optional dependency "transformers" '
                '(pip install transformers); or use the "import" backend.') from None
        if not osp.isfile(osp.join(model_dir, 'config.json')):
            raise FileNotFoundError(
                f'LocalModelCaptioner: "{model_dir}" is not a saved model folder (no config.json)')
        if batch_size < 1 or max_new_tokens < 1 or num_beams < 1:
            raise ValueError('LocalModelCaptioner: batch_size, max_new_tokens and num_beams must be '
                             f'positive, got {batch_size}, {max_new_tokens}, {num_beams}')
        import torch
        self._torch = torch
        self.model_dir = model_dir
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.generate_kwargs = dict(max_new_tokens=max_new_tokens, num_beams=num_beams)
        with open(osp.join(model_dir, 'config.json'), encoding='utf-8') as f:
            model_type = json.load(f).get('model_type')
        if model_type == 'vision-encoder-decoder':
            model_cls = transformers.VisionEncoderDecoderModel
        else:
            model_cls = getattr(transformers, 'AutoModelForImageTextToText', None) or getattr(
                transformers, 'AutoModelForVision2Seq')
        self.model = model_cls.from_pretrained(model_dir, local_files_only=True).to(self.device)
        self.model.eval()
        self.image_processor = transformers.AutoImageProcessor.from_pretrained(
            model_dir, local_files_only=True)
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(model_dir, local_files_only=True)

    def caption_images(self, images: Sequence[np.ndarray]) -> List[str]:
        """Caption RGB images.

        Args:
            images (Sequence[np.ndarray]): uint8 ``[H, W, 3]`` RGB images (sizes may differ).

        Returns:
            list[str]: One stripped caption per image.
        """
        captions: List[str] = []
        for start in range(0, len(images), self.batch_size):
            batch = list(images[start:start + self.batch_size])
            pixel_values = self.image_processor(images=batch, return_tensors='pt')['pixel_values']
            with self._torch.no_grad():
                tokens = self.model.generate(
                    pixel_values=pixel_values.to(self.device), **self.generate_kwargs)
            captions += [c.strip() for c in
                         self.tokenizer.batch_decode(tokens, skip_special_tokens=True)]
        return captions

    def caption_clip(self, clip: ClipToCaption) -> dict:
        """Caption the real frames, then compose segment and video captions.

        Raises:
            FileNotFoundError: A frame cannot be read.
            ValueError: The model returned an empty caption (frame named).
        """
        import cv2
        images = []
        for path in clip.frame_paths:
            image = cv2.imread(path, cv2.IMREAD_COLOR)
            if image is None:
                raise FileNotFoundError(
                    f'LocalModelCaptioner: clip "{clip.clip_id}": cannot read frame "{path}"')
            images.append(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
        frames = self.caption_images(images)
        for path, caption in zip(clip.frame_paths, frames):
            if not caption:
                raise ValueError(f'LocalModelCaptioner: clip "{clip.clip_id}": the model "'
                                 f'{self.model_dir}" gave an empty caption for frame "{path}"')
        segments = [compose_captions(frames[a:b])
                    for a, b in segment_windows(len(frames), clip.window)]
        return dict(video=compose_captions(frames), segments=segments, frames=frames)
