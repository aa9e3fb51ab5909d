"""AVSBench datasets (S4, MS3, AVSS), their clip transforms and the synthetic-data generator."""
from . import perturbations, synthetic
from .avss import AVSSDataset
from .base_dataset import AVSBaseDataset, seeded_derangement
from .ms3 import MS3Dataset
from .palette import voc_palette
from .perturbations import PerturbedAVSDataset
from .s4 import S4Dataset
from .synthetic import generate_avsbench
from .transforms import *  # noqa: F401,F403

__all__ = [
    'AVSBaseDataset', 'S4Dataset', 'MS3Dataset', 'AVSSDataset', 'voc_palette', 'seeded_derangement',
    'synthetic', 'generate_avsbench', 'perturbations', 'PerturbedAVSDataset'
]
