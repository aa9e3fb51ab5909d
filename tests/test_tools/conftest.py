"""Fixtures of the tool tests: checkpoints of untrained tiny models (fast; their predictions are arbitrary)."""
import os.path as osp
from typing import Callable

import pytest
import torch
from mmengine.config import Config

from mmavs.registry import MODELS
from mmavs.utils import register_all_modules

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='session')
def untrained_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, int], str]:
    """``make(config, seed=0) -> path``: the state dict of the config's model, initialised with ``seed``."""
    made = {}

    def make(config: str, seed: int = 0) -> str:
        if (config, seed) not in made:
            register_all_modules()
            cfg = Config.fromfile(osp.join(REPO, config))
            torch.manual_seed(seed)
            model = MODELS.build(cfg.model)
            model.init_weights()
            path = str(tmp_path_factory.mktemp('untrained') / f'{osp.splitext(osp.basename(config))[0]}_{seed}.pth')
            torch.save(dict(state_dict=model.state_dict(), meta=dict(seed=seed)), path)
            made[config, seed] = path
        return made[config, seed]

    return make
