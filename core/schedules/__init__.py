"""Resampling schedules: which frames are interpolated, at which exact output times.

Stage 1 (a :class:`NodeProducer`: ``naive``, ``pairs``, ``cadence``) turns source frames
into timed nodes; stage 2 (:class:`UniformUpsampler`) interpolates between nodes at
exactly uniform output times. :class:`Resampler` runs both with scene cuts.
Imports go one way: ``base`` <- producers <- ``registry`` <- ``upsample``; ``cadence``
builds on ``change`` (region change metering) and ``mixer`` (the pure-numpy weight solving);
``regional`` (an :class:`OutputSchedule`: it makes output frames itself, with per-pixel time
maps) on ``change``, ``timemaps`` (its arithmetic on numbers) and ``composite`` (maps and
masks at the frame's size, the composite of passes).
Each producer's ``context_frames`` says how far before and after a position a run must
start and read to match an uninterrupted run there (seeks, chunks).
"""

from .base import Context, Node, NodeProducer, OutputFrame, OutputSchedule, PairPreparer, SourceFrame
from .cadence import CadenceNodes, RegionChangeMeter
from .naive import NaiveNodes
from .pairs import PairMidpointNodes
from .regional import RegionalFrames
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
    "OutputSchedule",
    "PairMidpointNodes",
    "PairPreparer",
    "RegionChangeMeter",
    "RegionalFrames",
    "Resampler",
    "SourceFrame",
    "UniformUpsampler",
    "output_frame_count",
    "resample",
]
