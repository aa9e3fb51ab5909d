"""Every config in the repository builds and trains for one step on generated data.

Paper-scale configs shrink their input size here (as a user would with --cfg-options), never in the
config file, and start from random weights: their ``Pretrained`` files (docs/model_zoo.md) cannot be
downloaded here, so the test drops those ``init_cfg`` entries as ``--cfg-options ...init_cfg=None`` would
(loading the official files is tested in tests/test_models/test_checkpoint_loading.py). One step must produce
finite losses and a gradient for every trainable parameter: a parameter without a gradient would silently stop
DDP from synchronising its bucket.
"""
import glob
import os.path as osp
from typing import Dict

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper

from mmavs.registry import DATASETS, MODELS
from mmavs.utils import register_all_modules

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    osp.relpath(p, REPO) for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in p)
TEST_SIZE = 64


def _shrink(pipeline: list) -> None:
    for step in pipeline:
        if step['type'] == 'ClipResize':
            step['scale'] = (TEST_SIZE, TEST_SIZE)
        elif step['type'] == 'ClipResizeShortSide':
            step['short_side'] = TEST_SIZE


PRETRAINED_PARTS = ('audio_backbone', 'visual_backbone', 'text_encoder')


def _pretrained_files(cfg: Config) -> Dict[str, str]:
    """``{part: checkpoint}`` of the model parts initialised from a ``Pretrained`` file."""
    files = {}
    for part in PRETRAINED_PARTS:
        init_cfg = (cfg.model.get(part) or {}).get('init_cfg')
        if init_cfg and init_cfg.get('type') == 'Pretrained':
            files[part] = init_cfg['checkpoint']
    return files


def _data_root(cfg: Config, roots: Dict[str, str]) -> str:
    return roots[cfg.train_dataloader.dataset.type]


@pytest.fixture(scope='module')
def roots(s4_root: str, ms3_root: str, avss_root: str) -> Dict[str, str]:
    return {'S4Dataset': s4_root, 'MS3Dataset': ms3_root, 'AVSSDataset': avss_root}


def test_every_leaf_config_is_collected() -> None:
    assert 'configs/baseline/baseline_pvt_s4.py' in CONFIGS
    assert 'configs/baseline/baseline_tiny_synthetic_avss.py' in CONFIGS


@pytest.mark.parametrize('config', CONFIGS)
def test_config_trains_one_step(config: str, roots: Dict[str, str]) -> None:
    register_all_modules()
    cfg = Config.fromfile(osp.join(REPO, config))
    assert cfg.default_scope == 'mmavs'
    dataset_cfg = cfg.train_dataloader.dataset
    dataset_cfg.data_root = _data_root(cfg, roots)
    _shrink(dataset_cfg.pipeline)
    dataset = DATASETS.build(dataset_cfg)

    for part in _pretrained_files(cfg):
        cfg.model[part].init_cfg = None
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    batch = pseudo_collate([dataset[i] for i in range(2)])

    before = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    model.train()
    # the steps of BaseModel.train_step, with the gradients inspected before the optimizer step
    data = model.data_preprocessor(batch, True)
    loss, log_vars = model.parse_losses(model(**data, mode='loss'))
    assert all(torch.isfinite(torch.as_tensor(v)) for v in log_vars.values())
    assert any(k.startswith('loss_') for k in log_vars)
    optim_wrapper.backward(loss)
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    if getattr(model, 'text_encoder', None) is not None:
        # MIT: the frozen caption encoder is excluded above because it never trains; the data carry captions
        assert all(not p.requires_grad and p.grad is None for p in model.text_encoder.parameters())
        assert all('captions' in s.metainfo for s in data['data_samples'])
    assert not missing, f'{config}: parameters without gradient: {missing[:10]}'
    optim_wrapper.step()
    moved = [n for n, p in model.named_parameters() if n in before and not torch.equal(p, before[n])]
    assert len(moved) > 0.9 * len(before)
    num_classes = cfg.model.num_classes
    model.eval()
    with torch.no_grad():
        samples = model.val_step(batch)
    assert samples[0].pred_logits.shape[1] == num_classes
    assert samples[0].pred_logits.shape[-2:] == samples[0].gt_masks.shape[-2:]


# ICF ablation matrix (docs/icf.md, M8): which part each ablation config switches on.
ABLATIONS = {
    'baseline': dict(mit=False, sc=False, cdcl=False),
    'mit': dict(mit=True, sc=False, cdcl=False),
    'sc': dict(mit=False, sc=True, cdcl=False),
    'cdcl': dict(mit=False, sc=False, cdcl=True),
    'full': dict(mit=True, sc=True, cdcl=True),
    'full_meanproto': dict(mit=True, sc=True, cdcl=True),
}


@pytest.mark.parametrize('name', sorted(ABLATIONS))
def test_icf_ablation_configs_switch_the_parts(name: str) -> None:
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'icl', 'ablations', f'icl_tiny_synthetic_m3_{name}.py'))
    expected = ABLATIONS[name]
    model = cfg.model
    assert model.type == 'ICFSegmentor'
    assert (model.text_encoder is not None) == expected['mit']
    assert (model.text_resampler is not None) == expected['mit']
    assert (len(model.sc_losses) > 0) == expected['sc']
    assert model.decoder.get('sc', True) == expected['sc']
    assert (model.cdcl_loss is not None) == expected['cdcl']
    if expected['cdcl']:
        assert model.cdcl_loss.visual_prototype == ('mean' if name == 'full_meanproto' else 'map')
    # everything else is the tiny ICF model on the same data
    assert model.decoder.embed_dims == 64 and model.visual_backbone.arch == 'resnet18'
    assert cfg.train_dataloader.dataset.type == 'MS3Dataset'


@pytest.mark.parametrize('config', ['icl_pvt_s4', 'icl_pvt_m3', 'icl_pvt_avss', 'icl_r50_s4', 'icl_r50_m3',
                                    'icl_r50_avss'])
def test_icf_paper_configs_use_the_paper_settings(config: str) -> None:
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'icl', f'{config}.py'))
    model = cfg.model
    assert model.type == 'ICFSegmentor'
    assert model.visual_backbone.arch == ('pvt_v2_b5' if 'pvt' in config else 'resnet50')
    assert model.audio_backbone.frozen
    dec = model.decoder
    assert (dec.type, dec.embed_dims, dec.num_layers, dec.num_queries, dec.num_counterfactuals) == \
        ('CounterfactualDecoder', 256, 6, 100, 4)
    text = model.text_encoder
    assert (text.width, text.layers, text.heads, text.vocab_size, text.frozen) == (512, 12, 8, 49408, True)
    assert model.text_resampler.num_slots == 15
    seg = (['AVSCrossEntropyLoss', 'AVSSoftmaxDiceLoss', 'AVSSoftmaxFocalLoss'] if 'avss' in config else
           ['AVSBCELoss', 'AVSDiceLoss', 'AVSFocalLoss'])
    assert [(loss.type, loss.loss_weight) for loss in model.losses] == [(t, 1.0) for t in seg]
    assert {loss.type: loss.loss_weight for loss in model.sc_losses} == dict(
        CounterfactualEffectLoss=0.2, OrthogonalityLoss=1.0, LatentLoss=0.8)
    assert model.cdcl_loss.loss_weight == 0.2
    assert dict(model.cdcl_loss.inter_weights) == dict(va=0.4, al=0.3, vl=0.3)
    assert model.num_classes == (71 if 'avss' in config else 1)
    for loader in (cfg.train_dataloader, cfg.val_dataloader, cfg.test_dataloader):
        assert loader.dataset.with_text


PAPER_CONFIGS = [c for c in CONFIGS if 'synthetic' not in c]


@pytest.mark.parametrize('config', PAPER_CONFIGS)
def test_paper_configs_start_from_the_standard_pretrained_files(config: str) -> None:
    files = _pretrained_files(Config.fromfile(osp.join(REPO, config)))
    expected = {'audio_backbone': 'pretrained/vggish-10086976.pth'}
    expected['visual_backbone'] = ('pretrained/resnet50-19c8e357.pth' if '_r50_' in config else
                                   'pretrained/pvt_v2_b5.pth')
    if config.startswith('configs/icl/'):
        expected['text_encoder'] = 'pretrained/clip_vit-b16_text.pth'
    assert files == expected


def test_missing_pretrained_file_says_where_to_get_it(tmp_path) -> None:
    register_all_modules()
    cfg = Config.fromfile(osp.join(REPO, 'configs/baseline/baseline_r50_s4.py'))
    missing = str(tmp_path / 'resnet50-19c8e357.pth')
    cfg.model.visual_backbone.init_cfg.checkpoint = missing
    model = MODELS.build(cfg.model.visual_backbone)
    with pytest.raises(FileNotFoundError) as err:
        model.init_weights()
    assert missing in str(err.value) and 'model_zoo.md' in str(err.value)


@pytest.mark.parametrize('config,dataset,subset', [
    ('configs/_base_/datasets/s4.py', 'S4Dataset', 's4'),
    ('configs/_base_/datasets/m3.py', 'MS3Dataset', 'ms3'),
])
def test_benchmark_configs_decode_masks_like_the_official_loaders(config, dataset, subset, roots,
                                                                  tmp_path) -> None:
    """The benchmark pipelines binarise with the official rule of their subset (binarize='legacy')."""
    import shutil

    import numpy as np
    from PIL import Image
    register_all_modules()
    cfg = Config.fromfile(osp.join(REPO, config))
    dataset_cfg = cfg.val_dataloader.dataset
    assert dataset_cfg.type == dataset
    steps = [s for s in dataset_cfg.pipeline if s['type'] == 'LoadClipMasks']
    assert [s.get('binarize') for s in steps] == ['legacy']
    root = str(tmp_path / 'data')
    shutil.copytree(roots[dataset], root)
    dataset_cfg.data_root = root
    dataset_cfg.pipeline = [dict(type='LoadClipFrames'), *steps]  # no resize: compare on disk size
    ds = DATASETS.build(dataset_cfg)
    info = ds.get_data_info(0)
    path = info['mask_paths'][0]
    stored = np.asarray(Image.open(path).convert('L'))
    # a grey, non-zero background (the case where value > 0 would make everything foreground)
    Image.fromarray(np.where(stored > 0, 255, 90).astype(np.uint8), mode='L').save(path)
    mask = ds[0]['gt_masks'][0]
    if subset == 's4':  # avs_s4 dataloader: Image.open(path).convert('1')
        expected = np.asarray(Image.open(path).convert('1')).astype(np.uint8)
    else:  # avs_ms3 dataloader: Image.open(path).convert('P') / 255, here thresholded at 0.5
        expected = (np.asarray(Image.open(path).convert('P')) / 255.0 > 0.5).astype(np.uint8)
    np.testing.assert_array_equal(mask, expected)
    assert not mask.all()
