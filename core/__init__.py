"""stsr: stutter-free frame interpolation for anime drawn on twos and threes, by spatiotemporal resampling.

The public API (everything in ``__all__``)::

    import stsr
    for time, frame in stsr.resample(frames, rate_in=Fraction(24000, 1001)):
        ...                                   # 59.94 fps, no stutter on twos/threes
    stsr.convert("episode.mkv", "episode60.mkv")
    stsr.analyze("episode.mkv", against="episode60.mkv")
    stsr.create_backend("flow"), stsr.available_backends()

This package is the algorithm (``stsr.schedules``, ``stsr.interpolators``,
``stsr.engine``, ``stsr.io``, ``stsr.eval``); the command line, the mpv player and
the watch folder live in ``stsr.plugin``, which this package never imports. The
functions load torch and the backends on first use, so ``import stsr`` is cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import BackendUnavailable, Cancelled, InputError, StsrError, WeightsError

__version__ = "0.1.0"

__all__ = [
    "BackendUnavailable",
    "Cancelled",
    "InputError",
    "StsrError",
    "WeightsError",
    "__version__",
    "analyze",
    "available_backends",
    "convert",
    "create_backend",
    "resample",
]

#: public name -> the module that defines it (imported when the name is first used)
_LAZY = {
    "resample": ".api",
    "convert": ".api",
    "analyze": ".api",
    "create_backend": ".interpolators",
    "available_backends": ".interpolators",
}

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from .api import analyze, convert, resample
    from .interpolators import available_backends, create_backend


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'stsr' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
