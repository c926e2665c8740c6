"""Output rates: parsing ``--fps`` and the reference's ``--times N``, exactly as fractions."""

from __future__ import annotations

from fractions import Fraction

from ..errors import InputError

#: 59.94 fps, what anime at 23.976 is usually raised to
DEFAULT_RATE = Fraction(60000, 1001)


def parse_rate(text: str) -> Fraction:
    """Parse ``60000/1001``, ``59.94``, ``120``; reject zero, negative and garbage with one line."""
    try:
        rate = Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        raise InputError(f"bad frame rate {text!r} (examples: 60000/1001, 59.94, 120)") from None
    if rate <= 0 or rate > 1000:
        raise InputError(f"bad frame rate {text!r}: must be above 0 and at most 1000")
    if rate.denominator > 1 and "/" not in text:
        # 59.94 and 29.97 mean the NTSC rates.
        for ntsc in (Fraction(24000, 1001), Fraction(30000, 1001), Fraction(60000, 1001),
                     Fraction(120000, 1001), Fraction(48000, 1001)):
            if abs(rate - ntsc) < Fraction(1, 100):
                return ntsc
    return rate


def target_rate(source_rate: Fraction, fps: Fraction | None, times: int | None) -> Fraction:
    """``--times N`` is the reference's rate, ``source / 2 * N``; otherwise ``--fps``."""
    if times is not None:
        if times < 1:
            raise InputError("--times must be at least 1")
        return source_rate / 2 * times
    return fps or DEFAULT_RATE
