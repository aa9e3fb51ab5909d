"""torch.compile (MMEngine's ``compile=True``) captures the segmentors: same logits and losses as eager.

``backend='aot_eager'`` runs TorchDynamo's capture and AOT autograd without inductor's code generation, which
costs minutes on the CPU; a graph break or an untraceable construct in the models fails here just the same.
"""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmavs.apis.benchmark import make_batches
from mmavs.registry import DATASETS, MODELS
from mmavs.utils import register_all_modules

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


@pytest.mark.parametrize('config', ['configs/baseline/baseline_tiny_synthetic_s4.py',
                                    'configs/icl/icl_tiny_synthetic_s4.py'])
def test_compiled_segmentor_computes_what_eager_computes(config, s4_root):
    register_all_modules()
    cfg = Config.fromfile(osp.join(REPO, config))
    dataset_cfg = cfg.train_dataloader.dataset
    dataset_cfg.data_root = s4_root
    batch = make_batches(DATASETS.build(dataset_cfg), 2, 1)[0]
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.eval()
    data = model.data_preprocessor(batch, True)
    compiled = torch.compile(model, backend='aot_eager')
    with torch.no_grad():
        eager = model(data['inputs'], data['data_samples'], mode='tensor')
        torch.testing.assert_close(compiled(data['inputs'], data['data_samples'], mode='tensor'), eager)
    model.train()  # the SC branch runs in training mode (BatchNorm on batch statistics either way)
    torch.manual_seed(1)
    eager_losses = model(data['inputs'], data['data_samples'], mode='loss')
    torch.manual_seed(1)
    compiled_losses = compiled(data['inputs'], data['data_samples'], mode='loss')
    assert compiled_losses.keys() == eager_losses.keys()
    for key, value in eager_losses.items():
        torch.testing.assert_close(compiled_losses[key], value, rtol=1e-4, atol=1e-5, msg=key)
