"""Encode every caption of a dataset once with the frozen CLIP text encoder and store it in the text cache.

Examples::

    # caption file(s) given directly (JSON caption files, or .txt with one caption per line)
    python tools/misc/cache_text_embeddings.py --caption-file data/AVSBench/Single-source/s4_captions.json \\
        --cache-root data/text_cache --checkpoint clip_vit-b16_text.pth
    # a dataset root: its caption file (s4_captions.json, ms3_captions.json or captions.json) is found
    python tools/misc/cache_text_embeddings.py --data-root data/AVSBench/AVSS --cache-root data/text_cache
    # a config: encoder from cfg.text_encoder (or cfg.model.text_encoder), cache root from cfg.text_cache_root,
    # captions from the data roots of its train / val / test dataloaders
    python tools/misc/cache_text_embeddings.py --config configs/icl/icl_pvt_s4.py

Caption JSON format (see mmavs.datasets.caption_file and docs/captions.md)::

    {clip_id: {"video": str, "segments": [str, ...], "frames": [str, ...]}, ...}

The cache is keyed by ``CLIPCaptionEncoder.cache_key()`` (architecture + weights), so re-running with the same
encoder encodes nothing and says so. Without ``--checkpoint`` (and without a ``Pretrained`` init_cfg) the
encoder has random weights, seeded with ``--seed`` so that the key is reproducible.
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional, Sequence

import torch
from mmengine.config import Config, DictAction
from mmengine.utils import ProgressBar

import mmavs  # noqa: F401  (compat shims before mmseg / torch are touched)
from mmavs.datasets.caption_file import CAPTION_FILES, load_caption_file
from mmavs.models.text import CLIPCaptionEncoder, TextEmbeddingCache
from mmavs.registry import MODELS

#: Caption file names of the three AVSBench layouts (S4, MS3, AVSS), looked up in a dataset root.
CAPTION_FILE_NAMES = tuple(CAPTION_FILES.values())


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Pre-compute CLIP caption embeddings into the text cache')
    parser.add_argument('--config', help='config with text_encoder / text_cache_root / dataloader data roots')
    parser.add_argument('--caption-file', nargs='+', default=[], help='caption JSON or .txt file(s)')
    parser.add_argument('--data-root', nargs='+', default=[], help='dataset root(s) holding a caption file')
    parser.add_argument('--cache-root', help='cache directory (default: cfg.text_cache_root)')
    parser.add_argument('--checkpoint', help='text encoder state dict (OpenAI CLIP text layout, see '
                        'mmavs.models.text.clip_text_encoder)')
    parser.add_argument('--encoder-options', nargs='+', action=DictAction, default={},
                        help='override encoder settings, key=value (e.g. width=32 layers=2 heads=4)')
    parser.add_argument('--batch-size', type=int, default=64, help='captions per forward pass')
    parser.add_argument('--seed', type=int, default=0, help='seed of the random init (no checkpoint)')
    parser.add_argument('--device', default='cpu', help='torch device for encoding')
    return parser.parse_args(argv)


def find_caption_file(data_root: str) -> str:
    """The caption file inside ``data_root`` (one of :data:`CAPTION_FILE_NAMES`)."""
    if not osp.isdir(data_root):
        raise FileNotFoundError(f'data root {data_root} does not exist or is not a directory.')
    found = [osp.join(data_root, n) for n in CAPTION_FILE_NAMES if osp.isfile(osp.join(data_root, n))]
    if not found:
        raise FileNotFoundError(f'no caption file ({", ".join(CAPTION_FILE_NAMES)}) in {data_root}.')
    if len(found) > 1:
        raise ValueError(f'several caption files in {data_root}: {found}; pass one with --caption-file.')
    return found[0]


def read_captions(path: str) -> List[str]:
    """All captions of a caption file, in file order (duplicates kept).

    Args:
        path (str): A caption JSON (``{clip_id: {"video": str, "segments": [str], "frames": [str]}}``) or a
            ``.txt`` file with one caption per line (empty lines are an error).

    Returns:
        list[str]: The captions.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'caption file {path} does not exist.')
    if path.endswith('.txt'):
        with open(path, encoding='utf-8') as f:
            lines = f.read().splitlines()
        for i, line in enumerate(lines):
            if not line.strip():
                raise ValueError(f'{path}: line {i + 1} is empty; one caption per line expected.')
        return lines
    captions: List[str] = []
    for entry in load_caption_file(path).values():
        captions.extend([entry['video']] + entry['segments'] + entry['frames'])
    return captions


def _config_data_roots(cfg: Config) -> List[str]:
    roots = []
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        root = cfg.get(loader, {}).get('dataset', {}).get('data_root')
        if root and root not in roots:
            roots.append(root)
    return roots


def build_encoder(cfg: Optional[Config], options: dict, checkpoint: Optional[str], seed: int) -> CLIPCaptionEncoder:
    """Build the text encoder from the config (or the ViT-B/16 default), load weights, eval mode."""
    enc_cfg = dict(type='CLIPCaptionEncoder')
    if cfg is not None:
        from_cfg = cfg.get('text_encoder') or cfg.get('model', {}).get('text_encoder')
        if from_cfg:
            enc_cfg = dict(from_cfg)
    enc_cfg.update(options)
    torch.manual_seed(seed)
    encoder = MODELS.build(enc_cfg)
    if not isinstance(encoder, CLIPCaptionEncoder):
        raise TypeError(f'text encoder must be a CLIPCaptionEncoder, got {type(encoder).__name__}.')
    if encoder.init_cfg is not None:  # e.g. Pretrained; the OpenAI init is already applied at construction
        encoder.init_weights()
    if checkpoint is not None:
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(f'checkpoint {checkpoint} does not exist.')
        state = torch.load(checkpoint, map_location='cpu', weights_only=True)
        state = state.get('state_dict', state)
        encoder.load_state_dict(state, strict=True)
    return encoder.eval()


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config) if args.config else None

    files = list(args.caption_file) + [find_caption_file(r) for r in args.data_root]
    if not files and cfg is not None:
        files = [find_caption_file(r) for r in _config_data_roots(cfg)]
    if not files:
        sys.exit('no captions: pass --caption-file, --data-root or a --config with dataloader data roots.')
    cache_root = args.cache_root or (cfg.get('text_cache_root') if cfg is not None else None)
    if not cache_root:
        sys.exit('no cache directory: pass --cache-root or set text_cache_root in the config.')

    captions: List[str] = []
    for path in files:
        captions.extend(read_captions(path))
    unique = list(dict.fromkeys(captions))

    encoder = build_encoder(cfg, dict(args.encoder_options), args.checkpoint, args.seed).to(args.device)
    if args.checkpoint is None and not (encoder.init_cfg and 'Pretrained' in str(encoder.init_cfg)):
        print('warning: no --checkpoint and no Pretrained init_cfg: the encoder has random weights '
              f'(seed {args.seed}).', flush=True)
    cache = TextEmbeddingCache(cache_root, encoder.cache_key())
    missing = [c for c in unique if not cache.contains(c)]
    print(f'{len(unique)} unique captions ({len(captions)} in total) from {len(files)} file(s); '
          f'{len(unique) - len(missing)} already cached under {cache.encoder_dir}.', flush=True)
    if not missing:
        print('Nothing to encode: all captions are already cached (0 encoded).', flush=True)
        return 0

    bar = ProgressBar(len(missing))
    encoded = 0
    with torch.no_grad():
        for start in range(0, len(missing), args.batch_size):
            chunk = missing[start:start + args.batch_size]
            encoded += cache.compute_missing(chunk, lambda c: encoder(c, trim=True), batch_size=args.batch_size)
            for _ in chunk:
                bar.update()
    sys.stdout.write('\n')
    print(f'Encoded {encoded} new captions into {cache.encoder_dir}.', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
