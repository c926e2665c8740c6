"""The one error the watcher raises for problems the user must fix."""

from __future__ import annotations

from stsr.errors import StsrError


class WatchError(StsrError):
    """A watch folder problem the user must fix (missing INBOX, OUTBOX already watched...)."""
