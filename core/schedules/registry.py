"""The schedules by name, listed explicitly (no import side effects register anything)."""

from __future__ import annotations

from collections.abc import Callable

from .base import NodeProducer, OutputSchedule
from .cadence import CadenceNodes
from .naive import NaiveNodes
from .pairs import PairMidpointNodes
from .regional import RegionalFrames

#: name -> node producer factory, or an :class:`OutputSchedule` class (it makes the output frames itself);
#: ``naive`` is plain interpolation, kept for comparison
SCHEDULES: dict[str, Callable[..., NodeProducer | OutputSchedule]] = {
    "naive": NaiveNodes,
    "pairs": PairMidpointNodes,
    "cadence": CadenceNodes,
    # needs a backend with per-pixel time maps (``supports_time_maps``); refuses others in one line
    "regional": RegionalFrames,
}

#: the schedule every command and :func:`stsr.resample` use unless told otherwise
DEFAULT_SCHEDULE = "cadence"
