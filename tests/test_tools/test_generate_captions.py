"""Tests of tools/dataset_converters/generate_captions.py and its backends (mmavs.captioning)."""
import csv
import importlib.util
import json
import os
import os.path as osp
import random
import shutil
import sys

import numpy as np
import pytest

from mmavs.captioning import (
    BaseCaptioner,
    ImportCaptioner,
    LocalModelCaptioner,
    build_captioner,
    captioner_names,
    compose_captions,
    generate_caption_file,
)
from mmavs.datasets import AVSSDataset, MS3Dataset, S4Dataset
from mmavs.datasets.caption_windows import segment_windows
from mmavs.registry import CAPTIONERS

TOOL = osp.join(osp.dirname(__file__), '..', '..', 'tools', 'dataset_converters',
                'generate_captions.py')


def _tool():
    spec = importlib.util.spec_from_file_location('generate_captions_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _read(path):
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def _write_json(path, data):
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(data, f)


def _copy_without_captions(root, tmp_path, name):
    """Copy a dataset, move its caption file out; return (copy root, the original captions)."""
    dst = str(tmp_path / 'data')
    shutil.copytree(root, dst)
    path = osp.join(dst, name)
    truth = _read(path)
    os.remove(path)
    return dst, truth


def _all_vids(dataset_cls, root, **kwargs):
    return [info['vid'] for split in ('train', 'val', 'test')
            for info in dataset_cls(data_root=root, split=split, **kwargs).load_data_list()]


def _csv_rows(captions):
    rows = []
    for clip_id, entry in captions.items():
        rows.append([clip_id, 'video', '', entry['video']])
        rows += [[clip_id, 'segment', str(i), c] for i, c in enumerate(entry['segments'])]
        rows += [[clip_id, 'frame', str(i), c] for i, c in enumerate(entry['frames'])]
    return rows


def _write_csv(path, rows, header=('clip_id', 'level', 'index', 'caption')):
    with open(path, 'w', newline='', encoding='utf-8') as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


# ------------------------------------------------------------------------ import backend
def test_import_json_through_the_tool(s4_root, tmp_path):
    root, truth = _copy_without_captions(s4_root, tmp_path, 's4_captions.json')
    source = str(tmp_path / 'external.json')
    _write_json(source, truth)
    _tool().main(['--subset', 's4', '--data-root', root, '--backend', 'import', '--source', source])
    written = _read(osp.join(root, 's4_captions.json'))
    assert written == truth
    assert sorted(written) == sorted(_all_vids(S4Dataset, root))
    # the dataset reads the written file
    ds = S4Dataset(data_root=root, split='test', with_text=True)
    assert ds.get_data_info(0)['captions']['video'] == truth[ds.get_data_info(0)['vid']]['video']


def test_import_csv_through_the_tool_avss(avss_root, tmp_path):
    root, truth = _copy_without_captions(avss_root, tmp_path, 'captions.json')
    rows = _csv_rows(truth)
    random.Random(0).shuffle(rows)  # row order must not matter
    source = str(tmp_path / 'external.csv')
    _write_csv(source, rows)
    out = str(tmp_path / 'out' / 'avss_caps.json')
    _tool().main(['--subset', 'avss', '--data-root', root, '--backend', 'import', '--source', source,
                  '--out', out, '--save-every', '2'])
    assert _read(out) == truth
    ds = AVSSDataset(data_root=root, split='val', with_text=True, caption_file=out)
    assert {len(ds.get_data_info(i)['captions']['segments']) for i in range(len(ds))} == {2, 4}


@pytest.mark.parametrize('mutate,words', [
    (lambda rows: rows.__setitem__(1, [rows[1][0], 'scene', '0', 'x']), "level 'scene'"),
    (lambda rows: rows.__setitem__(2, [rows[2][0], 'segment', 'one', 'x']), "index 'one'"),
    (lambda rows: rows.append(list(rows[3])), 'second'),
    (lambda rows: rows.pop(4), 'without gaps'),
    (lambda rows: rows.pop(0), 'no video caption'),
])
def test_bad_csv_names_the_clip(s4_root, tmp_path, mutate, words):
    truth = _read(osp.join(s4_root, 's4_captions.json'))
    clip = sorted(truth)[0]
    rows = _csv_rows({clip: truth[clip]})
    mutate(rows)
    source = str(tmp_path / 'bad.csv')
    _write_csv(source, rows)
    with pytest.raises(ValueError) as err:
        ImportCaptioner(source)
    assert f'"{clip}"' in str(err.value) and words in str(err.value) and source in str(err.value)


def test_bad_import_sources(s4_root, tmp_path):
    with pytest.raises(FileNotFoundError, match='nothing.json'):
        ImportCaptioner(str(tmp_path / 'nothing.json'))
    header_only = str(tmp_path / 'h.csv')
    _write_csv(header_only, [], header=('clip', 'level', 'index', 'caption'))
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['clip_id'\]"):
        ImportCaptioner(header_only)
    txt = str(tmp_path / 'caps.txt')
    open(txt, 'w').close()
    with pytest.raises(ValueError, match='.json or .csv'):
        ImportCaptioner(txt)
    with pytest.raises(KeyError, match='unknown captioner backend'):
        build_captioner('blip-online')


def test_import_missing_clip_or_wrong_counts_names_the_clip(s4_root, tmp_path):
    root, truth = _copy_without_captions(s4_root, tmp_path, 's4_captions.json')
    victim = sorted(truth)[1]
    partial = {k: v for k, v in truth.items() if k != victim}
    source = str(tmp_path / 'partial.json')
    _write_json(source, partial)
    with pytest.raises(KeyError) as err:
        _tool().main(['--subset', 's4', '--data-root', root, '--backend', 'import', '--source',
                      source])
    assert f'"{victim}"' in str(err.value)
    wrong = json.loads(json.dumps(truth))
    wrong[victim]['frames'] = wrong[victim]['frames'][:3]
    _write_json(source, wrong)
    with pytest.raises(ValueError) as err:
        _tool().main(['--subset', 's4', '--data-root', root, '--backend', 'import', '--source',
                      source, '--overwrite'])
    assert f'"{victim}"' in str(err.value) and '3 frame captions' in str(err.value)


def test_tool_argument_errors(s4_root):
    with pytest.raises(SystemExit):
        _tool().parse_args(['--subset', 's4', '--data-root', s4_root, '--backend', 'import'])
    with pytest.raises(SystemExit):
        _tool().parse_args(['--subset', 's4', '--data-root', s4_root, '--backend', 'local-model'])


def test_a_registered_backend_is_offered_by_the_tool(s4_root, tmp_path):
    name = 'test-constant'

    @CAPTIONERS.register_module(name=name)
    class ConstantCaptioner(BaseCaptioner):

        def __init__(self, text: str) -> None:
            self.text = text

        def caption_clip(self, clip):
            count = len(clip.frame_paths)
            return dict(video=self.text, segments=[self.text] * len(segment_windows(count, clip.window)),
                        frames=[f'{self.text} {t}' for t in range(count)])

    tool = _tool()
    out = str(tmp_path / 'caps.json')
    try:
        assert name in captioner_names()
        tool.main(['--subset', 's4', '--data-root', s4_root, '--out', out, '--backend', name,
                   '--backend-args', 'text=hello'])
    finally:
        CAPTIONERS.module_dict.pop(name)
    written = _read(out)
    assert written and all(entry == dict(video='hello', segments=['hello'] * 2,
                                         frames=[f'hello {t}' for t in range(5)])
                           for entry in written.values())
    assert name not in captioner_names()
    with pytest.raises(SystemExit):
        tool.parse_args(['--subset', 's4', '--data-root', s4_root, '--backend', name])


# ----------------------------------------------------------------------------- resuming
class _Recording(BaseCaptioner):
    """Captions from a dict; records the clips asked for; fails at call ``fail_at`` (0-based)."""

    def __init__(self, captions, fail_at=None):
        self.captions, self.fail_at, self.calls = captions, fail_at, []

    def caption_clip(self, clip):
        if self.fail_at is not None and len(self.calls) == self.fail_at:
            raise RuntimeError('captioner crashed')
        self.calls.append(clip.clip_id)
        return self.captions[clip.clip_id]


def test_interrupted_run_is_resumed(ms3_root, tmp_path):
    root, truth = _copy_without_captions(ms3_root, tmp_path, 'ms3_captions.json')
    out = osp.join(root, 'ms3_captions.json')
    order = _all_vids(MS3Dataset, root)
    first = _Recording(truth, fail_at=3)
    with pytest.raises(RuntimeError):
        generate_caption_file('ms3', root, first, save_every=2, progress=False)
    # saved after clips 2 (and 4, never reached): the file holds exactly the first two clips
    assert sorted(_read(out)) == sorted(order[:2])
    # a resumed run captions the remaining clips only; a hand-edited entry is kept as it is
    kept = _read(out)
    kept[order[0]]['video'] = 'edited by hand'
    _write_json(out, kept)
    second = _Recording(truth)
    generate_caption_file('ms3', root, second, save_every=2, progress=False)
    assert second.calls == order[2:]
    final = _read(out)
    assert sorted(final) == sorted(order)
    assert final[order[0]]['video'] == 'edited by hand'
    assert all(final[v] == truth[v] for v in order[1:])
    # --overwrite starts over
    third = _Recording(truth)
    generate_caption_file('ms3', root, third, overwrite=True, progress=False)
    assert third.calls == order and _read(out) == truth


def test_resume_rejects_a_bad_existing_entry(s4_root, tmp_path):
    root, truth = _copy_without_captions(s4_root, tmp_path, 's4_captions.json')
    out = osp.join(root, 's4_captions.json')
    clip = sorted(truth)[0]
    _write_json(out, {clip: dict(truth[clip], segments=truth[clip]['segments'][:1])})
    with pytest.raises(ValueError) as err:
        generate_caption_file('s4', root, _Recording(truth), progress=False)
    assert f'"{clip}"' in str(err.value) and out in str(err.value)


# ------------------------------------------------------------------------- local model
VOCAB = ['[PAD]', '[BOS]', '[EOS]', '[UNK]', 'a', 'dog', 'cat', 'car', 'on', 'the', 'left', 'right']


@pytest.fixture(scope='module')
def tiny_captioning_model(tmp_path_factory):
    """A randomly initialised ViT + GPT-2 VisionEncoderDecoder with a word-level tokenizer, saved."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (
        GPT2Config,
        PreTrainedTokenizerFast,
        VisionEncoderDecoderConfig,
        VisionEncoderDecoderModel,
        ViTConfig,
        ViTImageProcessor,
    )
    vocab = {w: i for i, w in enumerate(VOCAB)}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token='[UNK]'))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token='[PAD]', bos_token='[BOS]', eos_token='[EOS]',
        unk_token='[UNK]')
    encoder = ViTConfig(image_size=32, patch_size=16, hidden_size=16, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=32, initializer_range=1.0)
    decoder = GPT2Config(vocab_size=len(VOCAB), n_positions=32, n_embd=16, n_layer=1, n_head=2,
                         bos_token_id=1, eos_token_id=2, pad_token_id=0, initializer_range=1.0)
    config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder)
    config.decoder_start_token_id, config.pad_token_id, config.eos_token_id = 1, 0, 2
    torch.manual_seed(0)
    model = VisionEncoderDecoderModel(config=config)
    gen = model.generation_config
    gen.decoder_start_token_id, gen.pad_token_id, gen.eos_token_id = 1, 0, 2
    gen.suppress_tokens = [0, 1, 3]  # random weights: keep the output to words (and EOS)
    gen.min_new_tokens = 2
    out = str(tmp_path_factory.mktemp('tiny_captioner'))
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    ViTImageProcessor(size={'height': 32, 'width': 32}).save_pretrained(out)
    return out


def test_local_model_backend_through_the_tool(s4_root, tmp_path, tiny_captioning_model):
    root, _ = _copy_without_captions(s4_root, tmp_path, 's4_captions.json')
    _tool().main(['--subset', 's4', '--data-root', root, '--backend', 'local-model', '--model-dir',
                  tiny_captioning_model, '--batch-size', '3', '--max-new-tokens', '4'])
    written = _read(osp.join(root, 's4_captions.json'))
    assert sorted(written) == sorted(_all_vids(S4Dataset, root))
    words = set(VOCAB[4:])
    for entry in written.values():
        frames, segments = entry['frames'], entry['segments']
        assert len(frames) == 5 and len(segments) == 2
        for caption in frames:
            tokens = caption.split()
            assert 2 <= len(tokens) <= 4 and set(tokens) <= words
        # segment = distinct frame captions of its window, in order of first appearance, '; '-joined
        for segment, window in zip(segments, (frames[0:3], frames[3:5])):
            parts = segment.split('; ')
            assert len(parts) == len(set(parts)) and set(parts) == set(window)
            assert [window.index(p) for p in parts] == sorted(window.index(p) for p in parts)
        assert set(entry['video'].split('; ')) == set(frames)
    # the model's captions depend on the frames (else the checks above would be vacuous)
    assert any('; ' in seg for entry in written.values() for seg in entry['segments'])
    assert len({c for entry in written.values() for c in entry['frames']}) >= 5
    # the datasets read the file
    ds = S4Dataset(data_root=root, split='train', with_text=True)
    assert all(len(ds.get_data_info(i)['captions']['frames']) == 5 for i in range(len(ds)))


def test_compose_captions_hand_cases():
    assert compose_captions(['a dog', 'a dog ', 'a cat', 'a dog']) == 'a dog; a cat'
    assert compose_captions(['x']) == 'x'
    assert compose_captions(['b', 'a', 'b', 'c']) == 'b; a; c'


def test_local_model_is_batch_independent_and_deterministic(tiny_captioning_model):
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (20 + 3 * i, 30, 3), dtype=np.uint8) for i in range(5)]
    one_by_one = LocalModelCaptioner(tiny_captioning_model, batch_size=1, max_new_tokens=4)
    batched = LocalModelCaptioner(tiny_captioning_model, batch_size=4, max_new_tokens=4)
    assert one_by_one.caption_images(images) == batched.caption_images(images)


def test_local_model_errors(tmp_path, tiny_captioning_model, monkeypatch):
    with pytest.raises(FileNotFoundError, match='no config.json'):
        LocalModelCaptioner(str(tmp_path))
    monkeypatch.setitem(sys.modules, 'transformers', None)
    with pytest.raises(ImportError, match='pip install transformers'):
        LocalModelCaptioner(tiny_captioning_model)
