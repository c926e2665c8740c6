"""Video files with PyAV, in one import: probing, decoding, encoding, copying the other streams.

The pieces live in their own modules (:mod:`.probe`, :mod:`.decode`, :mod:`.encode`,
:mod:`.mux`, :mod:`.output`); this module keeps the names other code imports.
"""

from __future__ import annotations

from .decode import DecodedFrame, decode
from .encode import CODEC_NAMES, EncodeSettings, VideoWriter, choose_settings, parse_encoder_options, write_video
from .mux import StreamCopier, check_copies
from .output import AtomicOutput, OutputError, container_for
from .probe import ColorDescription, VideoInfo, probe, processing_size

__all__ = [
    "CODEC_NAMES",
    "AtomicOutput",
    "ColorDescription",
    "DecodedFrame",
    "EncodeSettings",
    "OutputError",
    "StreamCopier",
    "VideoInfo",
    "VideoWriter",
    "check_copies",
    "choose_settings",
    "container_for",
    "decode",
    "parse_encoder_options",
    "probe",
    "processing_size",
    "write_video",
]
