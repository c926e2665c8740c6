"""The schedules by name, listed explicitly (no import side effects register anything)."""

from __future__ import annotations

from collections.abc import Callable

from .base import NodeProducer, PairPreparer
from .cadence import CadenceNodes
from .naive import NaiveNodes
from .pairs import PairMidpointNodes
from .regional import RegionalNodes

#: name -> node producer factory; ``naive`` is plain interpolation, kept for comparison
SCHEDULES: dict[str, Callable[[PairPreparer], NodeProducer]] = {
    "naive": NaiveNodes,
    "pairs": PairMidpointNodes,
    "cadence": CadenceNodes,
    "regional": RegionalNodes,
}

#: the schedule every command and :func:`stsr.resample` use unless told otherwise
DEFAULT_SCHEDULE = "cadence"
