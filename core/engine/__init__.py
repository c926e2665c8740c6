"""The streaming engine: decode -> cut detection -> resample -> encode, each stage in its own thread.

``convert`` (files), ``streams.pipe`` (Y4M on pipes), the watch folder and the player all
turn decoded frames into uniformly timed output frames with :func:`resample_frames`
and differ only in where frames come from and go to.
"""

from .convert import ConvertOptions, ConvertResult, Progress, convert
from .frames import frame_to_tensor, make_interpolator, resample_frames, silence_library_logs, tag_cuts, tensor_to_frame
from .pipeline import BackgroundIterator
from .rates import DEFAULT_RATE, parse_rate, target_rate
from .streams import pipe

__all__ = [
    "DEFAULT_RATE",
    "BackgroundIterator",
    "ConvertOptions",
    "ConvertResult",
    "Progress",
    "convert",
    "frame_to_tensor",
    "make_interpolator",
    "parse_rate",
    "pipe",
    "resample_frames",
    "silence_library_logs",
    "tag_cuts",
    "target_rate",
    "tensor_to_frame",
]
