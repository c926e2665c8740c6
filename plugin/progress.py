"""A progress bar (frames, fps, ETA) on stderr that stays quiet when not on a terminal."""

from __future__ import annotations

import sys

from tqdm import tqdm


class ProgressBar:
    """Thin wrapper over tqdm whose total may be revised as the real length becomes known."""

    def __init__(self, description: str, unit: str = "frame", enabled: bool = True) -> None:
        self._options = {"desc": description, "unit": unit, "disable": not enabled, "file": sys.stderr,
                         "dynamic_ncols": True, "smoothing": 0.1}
        self._bar: tqdm | None = None  # created on the first update: an early error prints only itself

    def update(self, done: int, total: int | None = None) -> None:
        if self._bar is None:
            self._bar = tqdm(total=total, **self._options)
        if total is not None and total != self._bar.total:
            self._bar.total = total
        self._bar.update(done - self._bar.n)

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._bar is not None:
            self._bar.close()
