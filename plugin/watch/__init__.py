"""The watch folder: convert every video that lands in INBOX, once, and survive crashes.

``journal`` remembers every file (SQLite, WAL) so a restart resumes; ``intake``
decides when a file is complete and ``intake_loop`` applies that to INBOX;
``worker`` converts queued files; ``naming`` picks output names that never
overwrite; ``lock`` keeps one watcher per OUTBOX; ``logs`` writes the log;
``status`` reports the journal; ``service`` wires them together.
"""

from .journal import JobState, Journal
from .service import WatchService, WatchSettings

__all__ = ["JobState", "Journal", "WatchService", "WatchSettings"]
