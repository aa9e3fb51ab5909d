"""Caption text of generated clips at three granularities (video, segment, frame) for MIT.

Format of the caption files (``Single-source/s4_captions.json``, ``Multi-sources/ms3_captions.json``,
AVSS ``captions.json``)::

    {clip_id: {"video": str, "segments": [str, ...], "frames": [str, ...]}, ...}

``clip_id`` is the S4 / MS3 video name or the AVSS uid. ``frames`` has one caption per *real* frame
(5 or 10). ``segments`` has one caption per window of ``w`` consecutive real frames, windows
non-overlapping and in order; ``w = ceil(T / 2)`` for S4 / MS3 and ``ceil(T / 4)`` for AVSS with ``T``
the padded clip length (5 and 10: ``w = 3`` in both cases), the last window may be shorter (the windows
are those of the caption-file reader, :mod:`mmavs.datasets.caption_windows`).

**The captions are visual-only**, like those of an image / video captioner that sees the frames and not
the audio (the real MIT captions of ICF come from such a captioner). They are computed from what is drawn
(each object's category, look, size and per-frame position) and never from who sounds, so they say nothing
about which object is heard, or whether anything is: the same frames give the same captions whatever the
sounding flags are. A text-conditioned model therefore cannot segment from the text alone; the text only
says *what* is on screen and *where*, the audio still has to pick the object.

- Frame ``t``: every object drawn in the frame, in reading order of the 2x2 grid cells, with its category
  in plain words, its look (colour, texture, shape) and the rough position of its centre in that frame on
  a 3x3 grid, e.g. ``"Two objects: a dog (red striped circle) at the top left and a race car (blue
  square) at the bottom right."``
- Segment: the objects over the segment's frames, each at the 3x3 position of its mean centre, with how it
  moves from the first to the last frame of the segment (not said for a one-frame segment), e.g.
  ``"Frames 1-3: a dog (red striped circle) at the top left, moving to the right; a race car (blue
  square) at the bottom right, staying in place."``
- Video: the objects with the quarter of the frame they stay in and how they move over the clip, e.g.
  ``"A video of a dog (red striped circle) in the top left and a race car (blue square) in the bottom
  right; the dog moves to the right, the race car stays in place."`` (``"the objects stay in place"``
  when none moves).
"""
from typing import List, Sequence

from ..caption_windows import default_segment_window, segment_windows
from .scenes import ClipScene, ObjectTrack

#: Quarter of the frame (grid cell ``(row, col)``) an object stays in.
_CELL_NAMES = {(0, 0): 'top left', (0, 1): 'top right', (1, 0): 'bottom left', (1, 1): 'bottom right'}
#: Rough position of a point on a 3x3 grid ``(row, col)`` of the frame.
_REGION_PHRASES = {
    (0, 0): 'at the top left',
    (0, 1): 'at the top',
    (0, 2): 'at the top right',
    (1, 0): 'on the left',
    (1, 1): 'in the centre',
    (1, 2): 'on the right',
    (2, 0): 'at the bottom left',
    (2, 1): 'at the bottom',
    (2, 2): 'at the bottom right',
}
_COUNT_WORDS = ('No objects', 'One object', 'Two objects', 'Three objects', 'Four objects')
#: An object "moves" when its displacement along an axis is at least this fraction of its size.
MOVE_FRACTION = 0.1


def _article(phrase: str) -> str:
    """Indefinite article of a noun phrase (``'an'`` before a vowel sound)."""
    if phrase.startswith(('uk', 'utv', 'uni', 'eu')):
        return 'a'
    return 'an' if phrase[0] in 'aeiou' else 'a'


def _join(parts: Sequence[str]) -> str:
    """``['a', 'b', 'c']`` -> ``'a, b and c'``."""
    if len(parts) <= 1:
        return ''.join(parts)
    return ', '.join(parts[:-1]) + ' and ' + parts[-1]


def _frame_list(frames: Sequence[int]) -> str:
    """``[0, 1, 2]`` -> ``'frames 1-3'``, ``[1]`` -> ``'frame 2'`` (consecutive frames only)."""
    numbers = [f + 1 for f in frames]
    if len(numbers) == 1:
        return f'frame {numbers[0]}'
    return f'frames {numbers[0]}-{numbers[-1]}'


def _ordered(scene: ClipScene) -> List[ObjectTrack]:
    """The objects in reading order of their grid cells (a visible order, unrelated to who sounds)."""
    return sorted(scene.objects, key=lambda obj: obj.cell)


def _described(obj: ObjectTrack) -> str:
    """``'a dog (red striped circle)'``: the category in plain words and the look."""
    noun = obj.style.noun
    return f'{_article(noun)} {noun} ({obj.style.look})'


def region_phrase(scene: ClipScene, obj: ObjectTrack, start: int, stop: int) -> str:
    """Rough position of an object's mean centre over frames ``start..stop-1`` on a 3x3 grid.

    The frame is cut in thirds along each axis; the centre of the object's box (top-left corner plus half
    its size) averaged over the frames picks the cell, e.g. ``'at the top left'`` or ``'in the centre'``.
    A centre exactly on a third line goes to the middle band.

    Args:
        scene (ClipScene): The clip (frame size).
        obj (ObjectTrack): One of its objects.
        start (int): First frame.
        stop (int): One past the last frame (``> start``).

    Returns:
        str: A phrase of :data:`_REGION_PHRASES`.
    """
    count = stop - start
    # twice the summed centre, so the comparisons with the third lines are exact integer arithmetic
    twice_x = sum(2 * obj.positions[t][0] + obj.size for t in range(start, stop))
    twice_y = sum(2 * obj.positions[t][1] + obj.size for t in range(start, stop))

    def band(twice: int, extent: int) -> int:
        if 3 * twice < 2 * extent * count:
            return 0
        if 3 * twice > 4 * extent * count:
            return 2
        return 1

    return _REGION_PHRASES[(band(twice_y, scene.height), band(twice_x, scene.width))]


def motion_words(obj: ObjectTrack, start: int, stop: int) -> str:
    """How an object moves from frame ``start`` to frame ``stop - 1``.

    A displacement along an axis counts when it is at least :data:`MOVE_FRACTION` of the object's size.

    Args:
        obj (ObjectTrack): The object.
        start (int): First frame.
        stop (int): One past the last frame.

    Returns:
        str: ``''`` when it does not move, else e.g. ``'up'``, ``'to the right'`` or
        ``'down and to the left'``.
    """
    (x0, y0), (x1, y1) = obj.positions[start], obj.positions[stop - 1]
    least = MOVE_FRACTION * obj.size
    words = []
    if abs(y1 - y0) >= least:
        words.append('down' if y1 > y0 else 'up')
    if abs(x1 - x0) >= least:
        words.append('to the right' if x1 > x0 else 'to the left')
    return ' and '.join(words)


def frame_caption(scene: ClipScene, t: int) -> str:
    """Caption of frame ``t``: every drawn object, its look and its rough position in that frame.

    Visual-only: it does not depend on ``scene.sounding``.

    Args:
        scene (ClipScene): The clip.
        t (int): Frame index.

    Returns:
        str: One sentence.
    """
    objects = _ordered(scene)
    parts = [f'{_described(obj)} {region_phrase(scene, obj, t, t + 1)}' for obj in objects]
    return f'{_COUNT_WORDS[len(objects)]}: {_join(parts)}.'


def segment_caption(scene: ClipScene, start: int, stop: int) -> str:
    """Caption of frames ``start..stop-1``: the objects, where they are and how they move there.

    Visual-only: it does not depend on ``scene.sounding``.

    Args:
        scene (ClipScene): The clip.
        start (int): First frame.
        stop (int): One past the last frame.

    Returns:
        str: One sentence.
    """
    parts = []
    for obj in _ordered(scene):
        part = f'{_described(obj)} {region_phrase(scene, obj, start, stop)}'
        if stop - start > 1:
            motion = motion_words(obj, start, stop)
            part += f', moving {motion}' if motion else ', staying in place'
        parts.append(part)
    head = _frame_list(list(range(start, stop)))
    return f'{head[0].upper()}{head[1:]}: ' + '; '.join(parts) + '.'


def video_caption(scene: ClipScene) -> str:
    """Caption of the whole clip: the objects, the quarter of the frame each stays in and its motion.

    Visual-only: it does not depend on ``scene.sounding``.

    Args:
        scene (ClipScene): The clip.

    Returns:
        str: One sentence.
    """
    objects = _ordered(scene)
    shown = [f'{_described(obj)} in the {_CELL_NAMES[obj.cell]}' for obj in objects]
    moves, still = [], []
    for obj in objects:
        motion = motion_words(obj, 0, scene.num_frames)
        if motion:
            moves.append(f'the {obj.style.noun} moves {motion}')
        else:
            still.append(f'the {obj.style.noun}')
    if len(still) == 1:
        moves.append(f'{still[0]} stays in place')
    elif still:
        moves.append(f'{_join(still) if moves else "the objects"} stay in place')
    return f'A video of {_join(shown)}; ' + ', '.join(moves) + '.'


#: Caption modes of :func:`clip_captions`.
CAPTION_MODES = ('visual', 'audio-visual')


def heard_phrase(scene: ClipScene, start: int, stop: int) -> str:
    """What is heard in frames ``start..stop-1`` (an audio-visual captioner's addition).

    Args:
        scene (ClipScene): The clip (uses ``scene.sounding``).
        start (int): First frame.
        stop (int): One past the last frame.

    Returns:
        str: ``'the dog is heard'``, ``'the dog and the car are heard'`` or ``'nothing is heard'`` (objects
        in reading order, each named once).
    """
    index = {id(obj): k for k, obj in enumerate(scene.objects)}
    heard = [f'the {obj.style.noun}' for obj in _ordered(scene)
             if scene.sounding[start:stop, index[id(obj)]].any()]
    heard = list(dict.fromkeys(heard))
    if not heard:
        return 'nothing is heard'
    return f'{_join(heard)} {"is" if len(heard) == 1 else "are"} heard'


def clip_captions(scene: ClipScene, subset: str, padded_frames: int, mode: str = 'visual') -> dict:
    """All captions of one clip in the caption-file format.

    Args:
        scene (ClipScene): The clip (its ``num_frames`` real frames are captioned).
        subset (str): ``'s4'``, ``'ms3'`` or ``'avss'`` (decides the segment window).
        padded_frames (int): ``T`` after padding (5 for S4 / MS3, 10 for AVSS).
        mode (str): ``'visual'`` (default): visual-only captions, as an image / video captioner writes them
            (see the module docstring). ``'audio-visual'``: each caption also says what is heard in its
            frames (:func:`heard_phrase`), as a captioner that hears the audio would; the text then carries
            which objects sound (a diagnostic of the MIT text path, not a realistic benchmark setting).

    Returns:
        dict: ``{"video": str, "segments": [str, ...], "frames": [str, ...]}``.
    """
    if mode not in CAPTION_MODES:
        raise ValueError(f'clip_captions: mode must be one of {CAPTION_MODES}, got {mode!r}')
    windows = segment_windows(scene.num_frames, default_segment_window(subset, padded_frames))
    captions = {
        'video': video_caption(scene),
        'segments': [segment_caption(scene, start, stop) for start, stop in windows],
        'frames': [frame_caption(scene, t) for t in range(scene.num_frames)],
    }
    if mode == 'audio-visual':
        spans = [(0, scene.num_frames)] + list(windows) + [(t, t + 1) for t in range(scene.num_frames)]
        texts = [captions['video']] + captions['segments'] + captions['frames']
        joined = [f'{text[:-1]}; {heard_phrase(scene, a, b)}.' for text, (a, b) in zip(texts, spans)]
        captions = {
            'video': joined[0],
            'segments': joined[1:1 + len(windows)],
            'frames': joined[1 + len(windows):],
        }
    return captions
