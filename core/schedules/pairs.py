"""``pairs``: the stsr method, one midpoint ``VFI(f2k, f2k+1, 1/2)`` per pair of source frames."""

from __future__ import annotations

from fractions import Fraction

from .base import Context, F, Node, NodeProducer, PairPreparer, SourceFrame


class PairMidpointNodes(NodeProducer[F]):
    """One midpoint per pair of source frames, presented at the pair's first frame time.

    No look-back, but a run must start on a pair boundary (an even frame counted from
    the shot start): that is the player's ``pairs`` flag, not a number of frames. Ahead:
    an output just after a pair's first frame needs the next pair, up to 3 frames on.
    """

    context_frames = Context(0, 3)

    def __init__(self, interpolator: PairPreparer[F]) -> None:
        super().__init__(interpolator)
        self._pending: SourceFrame[F] | None = None

    def push(self, frame: SourceFrame[F]) -> list[Node[F]]:
        if self._pending is None:
            self._pending = frame
            return []
        first, self._pending = self._pending, None
        (midpoint,) = self.interpolator.prepare(first.image, frame.image).frames_at([Fraction(1, 2)])
        return [Node(first.time, midpoint)]

    def end_shot(self) -> list[Node[F]]:
        # An odd frame out at the end of a shot stands for itself.
        leftover, self._pending = self._pending, None
        return [] if leftover is None else [Node(leftover.time, leftover.image)]
