"""Per-clip random generators: reproducible and independent of worker / iteration order."""
import numpy as np

#: Stream ids, so that two perturbations of the same clip and seed draw independent numbers.
STREAMS = dict(audio_noise=1, replace_audio=2, noise_donor=3, offscreen_donor=4, frame_mix=5)


def clip_rng(seed: int, clip_index: int, stream: str) -> np.random.Generator:
    """A numpy generator determined by ``(seed, clip_index, stream)`` only.

    Built from ``np.random.SeedSequence([seed, clip_index, STREAMS[stream]])``: the same clip gets the same
    numbers whichever worker loads it and in whatever order, and two models evaluated with the same seed see
    the same perturbed data.

    Args:
        seed (int): Seed of the perturbation (a non-negative int).
        clip_index (int): Index of the clip in the dataset (``sample_idx``).
        stream (str): A key of :data:`STREAMS`.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f'perturbation seed must be a non-negative int, got {seed!r}')
    if stream not in STREAMS:
        raise KeyError(f'unknown random stream {stream!r}; known: {sorted(STREAMS)}')
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(clip_index), STREAMS[stream]]))
