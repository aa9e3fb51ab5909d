"""A toy MMEngine Runner for fast, in-process tests of the engine hooks.

The toy model adds ``torch.randn`` noise to its input in training (like the counterfactual branch of ICF)
and in validation (so that validation draws from the generator, as the real val loop does); the toy
metric's value rises every validation, so that ``save_best`` writes a new best checkpoint each time.
"""
import uuid
from typing import Callable, Optional

import pytest
import torch
import torch.nn as nn
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

from mmavs.utils import register_all_modules


class ToyDataset(Dataset):
    """Eight samples ``x -> 2x + 1``."""

    def __len__(self) -> int:
        return 8

    def __getitem__(self, index: int) -> dict:
        x = torch.tensor([float(index)])
        return dict(inputs=x, data_samples=2 * x + 1)


class NoisyToyModel(BaseModel):
    """Linear model whose input gets Gaussian noise from the global torch generator."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(1, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        pred = self.linear(inputs + 0.1 * torch.randn_like(inputs))
        if mode == 'loss':
            return dict(loss=((pred - data_samples)**2).mean())
        return [dict(pred=p, target=t) for p, t in zip(pred, data_samples)]


class RisingMetric(BaseMetric):
    """``acc`` = number of evaluations so far (a new best every time)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def process(self, data_batch, data_samples) -> None:
        self.results.append(0)

    def compute_metrics(self, results) -> dict:
        self.calls += 1
        return dict(acc=float(self.calls))


def build_toy_runner(work_dir: str, max_epochs: int = 2, checkpoint: Optional[dict] = None,
                     resume: bool = False, load_from: Optional[str] = None,
                     rng_state: Optional[dict] = dict(type='RNGStateHook'),
                     val: bool = False, val_workers: int = 0) -> Runner:
    """A Runner in the ``mmavs`` scope with the mmavs checkpoint hook and (unless ``rng_state`` is None)
    the RNG state hook; with ``val``, validation after every epoch (``val_workers`` persistent workers)."""
    register_all_modules()
    loader = dict(dataset=ToyDataset(), sampler=dict(type='DefaultSampler', shuffle=True),
                  batch_size=2, num_workers=0, collate_fn=dict(type='default_collate'))
    checkpoint = checkpoint or dict(type='CheckpointHook', interval=1, max_keep_ckpts=1)
    val_kwargs = dict(
        val_dataloader=dict(loader, sampler=dict(type='DefaultSampler', shuffle=False),
                            num_workers=val_workers, persistent_workers=val_workers > 0),
        val_evaluator=[RisingMetric()], val_cfg=dict()) if val else {}
    return Runner(
        model=NoisyToyModel(),
        work_dir=work_dir,
        experiment_name=f'toy_{uuid.uuid4().hex}',
        train_dataloader=loader,
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs, val_interval=1),
        default_hooks=dict(checkpoint=checkpoint, logger=dict(type='LoggerHook', interval=1),
                           **(dict(rng_state=rng_state) if rng_state else {})),
        default_scope='mmavs',
        randomness=dict(seed=0),
        resume=resume,
        load_from=load_from,
        **val_kwargs)


@pytest.fixture
def toy_runner() -> Callable[..., Runner]:
    """Factory of toy Runners: ``toy_runner(work_dir, max_epochs=2, checkpoint=None, ...)``."""
    return build_toy_runner
