"""Resampling schedules: which frames are interpolated, at which exact output times.

Stage 1 (a :class:`NodeProducer`: ``naive``, ``pairs``, ``cadence``) turns source frames
into timed nodes; stage 2 (:class:`UniformUpsampler`) interpolates between nodes at
exactly uniform output times. :class:`Resampler` runs both with scene cuts.
Imports go one way: ``base`` <- producers <- ``registry`` <- ``upsample``; ``cadence``
builds on ``change`` (region change metering) and ``mixer`` (the pure-numpy weight solving);
``regional`` on ``change``, ``region_timing`` (windows and groups on numbers) and ``frame_ops``
(time maps and composites at the frame's size).
Each producer's ``context_frames`` says how far before and after a position a run must
start and read to match an uninterrupted run there (seeks, chunks).
"""

from .base import Context, Node, NodeProducer, OutputFrame, PairPreparer, SourceFrame
from .cadence import CadenceNodes, RegionChangeMeter
from .naive import NaiveNodes
from .pairs import PairMidpointNodes
from .regional import RegionalNodes
from .registry import DEFAULT_SCHEDULE, SCHEDULES
from .upsample import Resampler, UniformUpsampler, output_frame_count, resample

__all__ = [
    "DEFAULT_SCHEDULE",
    "SCHEDULES",
    "CadenceNodes",
    "Context",
    "NaiveNodes",
    "Node",
    "NodeProducer",
    "OutputFrame",
    "PairMidpointNodes",
    "PairPreparer",
    "RegionChangeMeter",
    "RegionalNodes",
    "Resampler",
    "SourceFrame",
    "UniformUpsampler",
    "output_frame_count",
    "resample",
]
