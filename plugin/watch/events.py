"""File system events: the watchdog observer only reports paths; the intake loop decides."""

from __future__ import annotations

import os
import queue
from pathlib import Path

from watchdog.events import (
    DirCreatedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer

#: ("file" | "dir", path) pairs from the observer thread to the intake loop
EventQueue = queue.SimpleQueue[tuple[str, Path]]

_EVENT_TYPES = [FileCreatedEvent, FileModifiedEvent, FileMovedEvent, FileClosedEvent, FileDeletedEvent,
                DirCreatedEvent, DirMovedEvent]


class EventForwarder(FileSystemEventHandler):
    """Forwards interesting paths to the intake loop; all decisions are made there."""

    def __init__(self, paths: EventQueue) -> None:
        self._paths = paths

    def on_any_event(self, event: FileSystemEvent) -> None:
        if isinstance(event, (FileMovedEvent, DirMovedEvent)):
            self._paths.put(("dir" if event.is_directory else "file", Path(os.fsdecode(event.dest_path))))
            if not event.is_directory:
                self._paths.put(("file", Path(os.fsdecode(event.src_path))))
        elif isinstance(event, DirCreatedEvent):
            self._paths.put(("dir", Path(os.fsdecode(event.src_path))))
        elif not event.is_directory:
            self._paths.put(("file", Path(os.fsdecode(event.src_path))))


def start_observer(folder: Path, recursive: bool, paths: EventQueue) -> Observer:
    """A started observer that puts the paths of events under ``folder`` into ``paths``.

    Raises OSError when the OS cannot deliver events (e.g. the inotify watch limit).
    """
    observer = Observer()
    observer.schedule(EventForwarder(paths), str(folder), recursive=recursive, event_filter=_EVENT_TYPES)
    observer.start()
    return observer
