"""The front-end stamp of a converted dataset folder, and the check that a target folder may be written.

``{out}/.mmavs_frontend.json`` records the layout and the audio front-end parameters the ``.pkl`` log-mels
were computed with (:mod:`mmavs.audio.vggish_input`). A folder whose stamp differs, or a non-empty folder
without a stamp that already holds an AVSBench dataset, is refused unless ``overwrite``.
"""
import json
import os
import os.path as osp
from typing import Dict, List

from mmavs.audio import VGGISH_SAMPLE_RATE
from mmavs.audio import vggish_input as vi

from ..synthetic.file_io import write_json

STAMP_NAME = '.mmavs_frontend.json'
#: Bump when the front end changes in a way that changes the features.
FRONTEND_VERSION = 1
#: Files or folders that show a folder holds an AVSBench dataset (any layout).
DATASET_MARKERS = ('s4_meta_data.csv', 'ms3_meta_data.csv', 'metadata.csv', 's4_data', 'ms3_data', 'v1s', 'v1m',
                   'v2')


class StampError(ValueError):
    """The target folder holds another dataset or was written with another front end."""


def frontend_stamp(layout: str) -> Dict[str, object]:
    """The stamp of a conversion into ``layout`` with the current front end."""
    return dict(
        layout=layout,
        front_end='mmavs.audio.vggish_input',
        version=FRONTEND_VERSION,
        sample_rate=VGGISH_SAMPLE_RATE,
        stft_window=vi.STFT_WINDOW_LENGTH,
        stft_hop=vi.STFT_HOP_LENGTH,
        fft_length=vi.FFT_LENGTH,
        num_mel_bins=vi.NUM_MEL_BINS,
        mel_min_hz=vi.MEL_MIN_HZ,
        mel_max_hz=vi.MEL_MAX_HZ,
        log_offset=vi.LOG_OFFSET,
        example_window_frames=vi.EXAMPLE_WINDOW_FRAMES,
        example_hop_frames=vi.EXAMPLE_HOP_FRAMES)


def check_target(out: str, layout: str, overwrite: bool = False) -> None:
    """Raise :class:`StampError` if ``out`` must not receive a ``layout`` conversion.

    Args:
        out (str): Target folder (may not exist yet).
        layout (str): ``'s4'``, ``'ms3'`` or ``'avss'``.
        overwrite (bool): Accept a differing stamp or an unstamped dataset.
    """
    if overwrite or not osp.isdir(out):
        return
    path = osp.join(out, STAMP_NAME)
    if osp.isfile(path):
        with open(path, encoding='utf-8') as f:
            try:
                found = json.load(f)
            except json.JSONDecodeError as err:
                raise StampError(f'stamp file "{path}" is not valid json ({err}); use --overwrite') from None
        expected = frontend_stamp(layout)
        diff: List[str] = [
            f'{key}: {found.get(key)!r} in the stamp, {value!r} now' for key, value in expected.items()
            if found.get(key) != value
        ]
        if diff:
            raise StampError(f'stamp file "{path}" differs from this conversion ({"; ".join(diff)}); choose another '
                             'output folder or pass --overwrite')
        return
    markers = [name for name in DATASET_MARKERS if osp.exists(osp.join(out, name))]
    if markers:
        raise StampError(f'output folder "{out}" already holds a dataset ({", ".join(markers)}) and has no stamp '
                         f'file "{path}"; choose another folder or pass --overwrite')


def write_stamp(out: str, layout: str) -> str:
    """Write the stamp of ``layout`` into ``out``; return its path."""
    os.makedirs(out, exist_ok=True)
    path = osp.join(out, STAMP_NAME)
    write_json(path, frontend_stamp(layout))
    return path
