"""What the dataset checker found: problems (each with its file) and per-split counts."""
import csv
import os
from dataclasses import asdict, dataclass, field, fields
from typing import Dict, List, Optional

#: Severities: an ``error`` makes the checker exit non-zero; a ``warning`` only with ``--strict``.
SEVERITIES = ('error', 'warning')


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong (or worth knowing) about a copy of a dataset.

    Attributes:
        severity (str): 'error' or 'warning'.
        kind (str): Short machine-readable name, e.g. 'missing_file', 'unreadable_image',
            'mask_size', 'off_palette', 'log_mel_shape', 'not_two_level', 'metadata'.
        path (str): The file (or folder) concerned.
        message (str): What is wrong, in a sentence.
        split (str): The clip's split ('' when not about one clip).
        clip (str): The clip id ('' when not about one clip).
    """

    severity: str
    kind: str
    path: str
    message: str
    split: str = ''
    clip: str = ''

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f'Problem: severity must be one of {SEVERITIES}, got {self.severity!r}')


@dataclass
class ClipResult:
    """The outcome of checking one clip's files.

    Attributes:
        split (str): The clip's split.
        clip (str): The clip id.
        problems (list[Problem]): What is wrong with its files.
        audio_found (dict[str, bool]): For 'wav' and 'pkl' (the kinds the layout has): whether the file exists.
        masks_found (int): How many of the clip's mask files exist.
    """

    split: str
    clip: str
    problems: List[Problem] = field(default_factory=list)
    audio_found: Dict[str, bool] = field(default_factory=dict)
    masks_found: int = 0


@dataclass
class SplitCount:
    """Clips of one split: in the metadata, without any error, and as published (None if not known)."""

    split: str
    metadata: int = 0
    clean: int = 0
    published: Optional[int] = None


@dataclass
class CheckReport:
    """Everything :func:`~mmavs.datasets.checking.check_dataset` found about one copy.

    Attributes:
        root (str): The checked folder.
        subset (str): 's4', 'ms3' or 'avss'.
        counts (list[SplitCount]): Per split, in the order train, val, test.
        problems (list[Problem]): Sorted by severity, kind, path.
        notes (list[str]): Facts about the copy that are not problems (e.g. short v2 training clips).
    """

    root: str
    subset: str
    counts: List[SplitCount]
    problems: List[Problem]
    notes: List[str] = field(default_factory=list)

    def num(self, severity: str) -> int:
        """Number of problems of a severity."""
        return sum(p.severity == severity for p in self.problems)

    def failed(self, strict: bool = False) -> bool:
        """True if there is an error (or, with ``strict``, any problem)."""
        return bool(self.problems) if strict else self.num('error') > 0


def write_problems_csv(problems: List[Problem], path: str) -> None:
    """Write the problems as CSV (columns: severity, kind, split, clip, path, message)."""
    columns = ['severity', 'kind', 'split', 'clip', 'path', 'message']
    assert sorted(columns) == sorted(f.name for f in fields(Problem))
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with open(path, 'w', newline='', encoding='utf-8') as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for problem in problems:
            writer.writerow(asdict(problem))
