"""Schedules tried on the way to ``cadence`` and kept for the record: linear filters over pair midpoints.

The lead's first idea: a pair midpoint is a 2-tap box filter on the motion and
cancels holds of 2; a box of 3 consecutive midpoints cancels an error that repeats
every 3 midpoints (threes), a box of 2 one that repeats every 2 (fours), so
``box2 * box3`` over midpoints should cancel threes and fours as well. Each filtered
node is a chain of interpolations of midpoints (``VFI(VFI(a, c, 1/2), b, 1/3)`` for
three), presented at the centre of mass of its window.

What the benchmark shows: they do remove most of the stutter on threes and fours,
not on 2-3 (its error repeats every 5 midpoints), and no linear filter can be on
time for every rhythm (a layer drawn on ``H`` comes out ``(H - 1) / 2`` frames late,
minus a constant): threes stay half a frame late, fours a frame; and each box adds
interpolation generations. ``cadence`` finds each layer's drawings instead.
"""

from __future__ import annotations

from collections import deque
from fractions import Fraction
from typing import Any

from stsr.schedules import Node, NodeProducer, PairMidpointNodes, PairPreparer, SourceFrame


class BoxedPairNodes(NodeProducer[Any]):
    """Pair midpoints, then a moving average of ``taps`` consecutive midpoints (weights)."""

    def __init__(self, interpolator: PairPreparer[Any], taps: tuple[int, ...] = (1, 1, 1)) -> None:
        super().__init__(interpolator)
        self.taps = taps
        self._pairs = PairMidpointNodes(interpolator)
        self._window: deque[Node[Any]] = deque(maxlen=len(taps))

    def _mix(self) -> Node[Any]:
        nodes = list(self._window)
        total = sum(self.taps)
        # Presented at the window's centre of mass: no added delay for steady motion.
        time = sum(Fraction(w) * node.time for w, node in zip(self.taps, nodes, strict=True)) / total
        image, weight = nodes[0].image, Fraction(self.taps[0])
        for tap, node in zip(self.taps[1:], nodes[1:], strict=True):
            t = Fraction(tap) / (weight + tap)
            image = self.interpolator.prepare(image, node.image).frames_at([t])[0]
            weight += tap
        return Node(time, image)

    def push(self, frame: SourceFrame[Any]) -> list[Node[Any]]:
        out = []
        for node in self._pairs.push(frame):
            self._window.append(node)
            if len(self._window) == len(self.taps):
                out.append(self._mix())
        return out

    def end_shot(self) -> list[Node[Any]]:
        for node in self._pairs.end_shot():
            self._window.append(node)
            if len(self._window) == len(self.taps):
                return [self._mix(), *self._drain()]
        return self._drain()

    def _drain(self) -> list[Node[Any]]:
        self._window.clear()
        return []


#: name -> taps over pair midpoints
EXPERIMENTS = {
    "pairs+box3": (1, 1, 1),
    "pairs+box2x3": (1, 2, 2, 1),
}
