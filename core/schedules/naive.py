"""``naive``: every source frame is a node, plain interpolation (the stutter users have today)."""

from __future__ import annotations

from .base import Context, F, Node, NodeProducer, SourceFrame


class NaiveNodes(NodeProducer[F]):
    """Every source frame is a node: plain interpolation, the stutter users have today.

    No state: a run may start on the output's own frame and needs only the next one.
    """

    context_frames = Context(0, 1)

    def push(self, frame: SourceFrame[F]) -> list[Node[F]]:
        return [Node(frame.time, frame.image)]

    def end_shot(self) -> list[Node[F]]:
        return []
