"""The watch folder: convert every video that lands in INBOX, once, and survive crashes.

``journal`` remembers every file (SQLite, WAL) so a restart resumes; ``intake``
decides when a file is complete; ``naming`` picks output names that never
overwrite; ``service`` runs the observer, the single worker and the signals.
"""

from .journal import JobState, Journal
from .service import WatchService, WatchSettings

__all__ = ["JobState", "Journal", "WatchService", "WatchSettings"]
