"""Published clip counts of the AVSBench subsets, per split, with their sources.

* S4 (AVSBench-object, single source): 4,932 videos, 3,452 / 740 / 740 (train / val / test).
* MS3 (multiple sources): 424 videos, 296 / 64 / 64.

Source: Zhou et al., "Audio-Visual Segmentation", ECCV 2022, Sec. 3 (AVSBench statistics); the official
``s4_meta_data.csv`` / ``ms3_meta_data.csv`` hold these rows.

AVSS (AVSBench-semantic) has no entry: its per-split counts could not be confirmed from a primary source
while this table was written, and a number that is not confirmed would turn into false warnings. Its copy is
checked against its own ``metadata.csv`` only.

A copy with other counts is not necessarily broken (a partial download, a curated subset), so a difference
is reported as a warning, not an error.
"""
from typing import Dict

PUBLISHED_COUNTS: Dict[str, Dict[str, int]] = {
    's4': {'train': 3452, 'val': 740, 'test': 740},
    'ms3': {'train': 296, 'val': 64, 'test': 64},
}
