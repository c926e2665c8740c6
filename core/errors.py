"""User-facing errors: anything raised as :class:`StsrError` is printed as one line, no traceback."""


class StsrError(Exception):
    """An error the user can act on; its message is one self-explanatory line."""


class InputError(StsrError):
    """Bad input: missing file, not a video, corrupt stream, too few frames, bad option."""


class BackendUnavailable(StsrError):
    """A backend cannot be constructed: unknown name, missing weights, an option it does not take.

    The message is one line that tells the user what to do.
    """


class WeightsError(StsrError):
    """Missing, truncated or wrong model weights; the message names the file and the fix."""


class Cancelled(Exception):
    """A job stopped on request (Ctrl-C, SIGTERM, a stop event): nothing was left behind.

    Its own exception rather than :class:`KeyboardInterrupt`, so that library users
    can tell "I asked it to stop" from a real Ctrl-C in their own program.
    """


class StageStuck(StsrError):
    """A background stage of an earlier job is still running, so a new job would share its state."""
