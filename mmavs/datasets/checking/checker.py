"""Check a downloaded copy of an AVSBench subset: :func:`check_dataset`."""
import multiprocessing
from typing import Callable, Iterable, List, Optional

from ..base_dataset import SPLITS
from .clip_check import check_clip
from .layout import DATASETS, ClipTask, detect_subset, inventory
from .published import PUBLISHED_COUNTS
from .report import CheckReport, ClipResult, Problem, SplitCount

#: Clips handed to a worker at a time.
_CHUNK = 8


def _results(tasks: List[ClipTask], workers: int) -> Iterable[ClipResult]:
    if workers <= 1 or len(tasks) <= 1:
        yield from map(check_clip, tasks)
        return
    with multiprocessing.get_context('spawn').Pool(workers) as pool:
        yield from pool.imap_unordered(check_clip, tasks, chunksize=_CHUNK)


def _audio_problems(tasks: List[ClipTask], results: List[ClipResult]) -> List[Problem]:
    """A kind of audio file (wav, pkl) present for some clips is required for all of them.

    A kind missing for every clip is one warning (a copy may ship only the log-mels or only the wavs; the
    configs that read the other kind will not run on it); no audio at all for a clip is an error.
    """
    problems = []
    paths = {(t.split, t.clip): t.audio for t in tasks}
    kinds = sorted({k for r in results for k in r.audio_found})
    present = {k: any(r.audio_found.get(k) for r in results) for k in kinds}
    for result in results:
        audio = paths[(result.split, result.clip)]
        if result.audio_found and not any(result.audio_found.values()):
            problems.append(Problem('error', 'missing_audio', ' | '.join(audio.values()),
                                    'the clip has no audio file', result.split, result.clip))
            continue
        for kind, found in result.audio_found.items():
            if present[kind] and not found:
                problems.append(Problem('error', 'missing_file', audio[kind],
                                        f'{kind} file does not exist (other clips have theirs)',
                                        result.split, result.clip))
    for kind in kinds:
        if not present[kind] and any(r.audio_found.get(other) for r in results for other in kinds):
            problems.append(Problem('warning', 'no_audio_kind', '', f'no clip has its {kind} file: configs '
                                    f'that read {kind} audio (LoadClipAudio(source={kind!r})) cannot run on this copy'))
    return problems


def check_dataset(root: str,
                  subset: Optional[str] = None,
                  workers: int = 1,
                  with_gt: bool = True,
                  on_clip: Optional[Callable[[int, int], None]] = None) -> CheckReport:
    """Check every clip of a copy of S4, MS3 or AVSS.

    Args:
        root (str): The folder a config's ``data_root`` names (e.g. ``data/AVSBench/Single-source``).
        subset (str, optional): 's4', 'ms3' or 'avss'; recognised from the files when None.
        workers (int): Processes that check clips in parallel. Defaults to 1 (this process).
        with_gt (bool): False for an unlabeled copy (no masks expected, as ``with_gt`` of the datasets).
            Defaults to True.
        on_clip (callable, optional): Called as ``on_clip(done, total)`` after each clip (a progress bar).

    Returns:
        CheckReport: Per-split counts and every problem found, sorted.

    Raises:
        FileNotFoundError / ValueError: If ``root`` holds no subset (see
            :func:`~mmavs.datasets.checking.layout.detect_subset`) or ``subset`` is unknown.
    """
    if subset is None:
        subset = detect_subset(root)
    elif subset not in DATASETS:
        raise ValueError(f'unknown subset {subset!r}; choose one of {tuple(DATASETS)}')
    inv = inventory(subset, root, with_gt)
    results: List[ClipResult] = []
    for result in _results(inv.tasks, max(1, int(workers))):
        results.append(result)
        if on_clip is not None:
            on_clip(len(results), len(inv.tasks))
    problems = list(inv.problems) + [p for r in results for p in r.problems]
    problems += _audio_problems(inv.tasks, results)
    if with_gt and any(t.masks for t in inv.tasks) and not any(r.masks_found for r in results):
        inv.notes.append('no clip has any of its masks: an unlabeled copy (e.g. from videos_to_avsbench.py '
                         'without --masks)? Check it with --without-gt, and read it with with_gt=False')
    bad_clips = {(p.split, p.clip) for p in problems if p.severity == 'error' and p.clip}
    published = PUBLISHED_COUNTS.get(subset, {})
    counts = []
    for split in SPLITS:
        listed = inv.rows_per_split[split]
        clean = sum((t.split, t.clip) not in bad_clips for t in inv.tasks if t.split == split)
        counts.append(SplitCount(split, listed, clean, published.get(split)))
    notes = list(inv.notes)
    differ = [f'{c.split} {c.metadata} (published {c.published})' for c in counts
              if c.published is not None and c.metadata != c.published]
    if differ:
        notes.append(f'the metadata lists other counts than the published {subset} release: {", ".join(differ)}; '
                     'a partial or curated copy, or rows missing from the csv')
    return CheckReport(root=root, subset=subset, counts=counts, problems=sorted(set(problems)), notes=notes)
