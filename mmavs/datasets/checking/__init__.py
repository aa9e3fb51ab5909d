"""Check a downloaded copy of an AVSBench subset (``tools/dataset_converters/check_avsbench.py``)."""
from .checker import check_dataset
from .layout import CONFIG_BASES, detect_subset
from .published import PUBLISHED_COUNTS
from .report import CheckReport, Problem, SplitCount, write_problems_csv

__all__ = [
    'CONFIG_BASES', 'CheckReport', 'PUBLISHED_COUNTS', 'Problem', 'SplitCount', 'check_dataset', 'detect_subset',
    'write_problems_csv'
]
