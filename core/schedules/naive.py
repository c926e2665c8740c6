"""``naive``: every source frame is a node, plain interpolation (the stutter users have today)."""

from __future__ import annotations

from .base import F, Node, NodeProducer, SourceFrame


class NaiveNodes(NodeProducer[F]):
    """Every source frame is a node: plain interpolation, the stutter users have today."""

    def push(self, frame: SourceFrame[F]) -> list[Node[F]]:
        return [Node(frame.time, frame.image)]

    def end_shot(self) -> list[Node[F]]:
        return []
