"""Choice of the off-screen sound (another clip's audio) of AVSBench-Robust.

AVSBench-Robust (github.com/jiali-home/AVSBench-Robust, commit 03e925d,
``dataset_generation/audio_processing.py``, ``process_s4_split``) gives each S4 video the audio of a video
from a *contrasting* category: the 23 S4 categories are grouped into coarse classes (``get_semantic_category``,
reproduced in :data:`S4_COARSE_CLASSES`), and the donor category is drawn uniformly among the categories of
the split whose coarse class is neither the clip's own nor its "least suitable contrast"
(:data:`LEAST_SUITABLE_CONTRAST`); the donor clip is then drawn uniformly in that category. When no category
qualifies, any other category is drawn. Their table also lists ``vehicle``, which no S4 category maps to (buses,
helicopters and race cars are ``device``), so it never applies.

Not reproduced: the MS3 rule, which reads object labels (``a_obj``) of the AVSS ``metadata.csv``; for clips
without a ``category`` (MS3, AVSS) the donor is drawn uniformly among the other clips. When every other clip
has the clip's own category, mmavs also falls back to any other clip (their script would leave the clip out).
"""
from typing import Dict, List, Optional, Sequence

import numpy as np

#: Coarse class of each S4 category (AVSBench-Robust ``get_semantic_category('s4')``).
S4_COARSE_CLASSES: Dict[str, str] = {
    **dict.fromkeys(('playing_acoustic_guitar', 'playing_glockenspiel', 'playing_piano', 'playing_tabla',
                     'playing_ukulele', 'playing_violin'), 'music'),
    **dict.fromkeys(('baby_laughter', 'female_singing', 'male_speech'), 'human'),
    **dict.fromkeys(('cat_meowing', 'coyote_howling', 'dog_barking', 'horse_clip-clop', 'lions_roaring',
                     'mynah_bird_singing'), 'animal'),
    **dict.fromkeys(('driving_buses', 'helicopter', 'race_car', 'ambulance_siren', 'cap_gun_shooting',
                     'chainsawing_trees', 'lawn_mowing', 'typing_on_computer_keyboard'), 'device'),
}

#: The coarse class a donor must not come from, for each coarse class (AVSBench-Robust, S4).
LEAST_SUITABLE_CONTRAST: Dict[str, str] = dict(music='human', human='music', animal='human', vehicle='device',
                                              device='vehicle')


def contrasting_categories(own: str, present: Sequence[str]) -> List[str]:
    """S4 categories among ``present`` that may donate an off-screen sound to a clip of category ``own``.

    Args:
        own (str): The clip's category.
        present (Sequence[str]): Categories of the other clips of the split (duplicates ignored).

    Returns:
        list[str]: Sorted; empty when ``own`` has no coarse class or none qualifies.
    """
    coarse = S4_COARSE_CLASSES.get(own)
    if coarse is None:
        return []
    banned = {coarse, LEAST_SUITABLE_CONTRAST.get(coarse)}
    return sorted(c for c in set(present) if c in S4_COARSE_CLASSES and S4_COARSE_CLASSES[c] not in banned)


def offscreen_donor(rng: np.random.Generator, idx: int, categories: Sequence[Optional[str]]) -> int:
    """Index of the clip whose audio clip ``idx`` gets (rules in the module docstring).

    Args:
        rng (np.random.Generator): The clip's generator.
        idx (int): The clip.
        categories (Sequence[str | None]): ``category`` of every clip of the split (None: no category).

    Returns:
        int: A donor index ``!= idx``.
    """
    others = [j for j in range(len(categories)) if j != idx]
    own = categories[idx]
    if own is None:
        return int(others[int(rng.integers(len(others)))])
    present = [categories[j] for j in others if categories[j] is not None]
    choices = contrasting_categories(own, present) or sorted(set(present) - {own})
    if not choices:
        return int(others[int(rng.integers(len(others)))])
    category = choices[int(rng.integers(len(choices)))]
    members = [j for j in others if categories[j] == category]
    return int(members[int(rng.integers(len(members)))])
