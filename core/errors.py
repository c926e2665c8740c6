"""User-facing errors: anything raised as :class:`StsrError` is printed as one line, no traceback."""


class StsrError(Exception):
    """An error the user can act on; its message is one self-explanatory line."""


class InputError(StsrError):
    """Bad input: missing file, not a video, corrupt stream, too few frames, bad option."""


class WeightsError(StsrError):
    """Missing, truncated or wrong model weights; the message names the file and the fix."""
