"""``stsr watch``: real watchdog observers, real folders, real small videos, real processes and signals."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import pytest

from stsr.engine import ConvertOptions, convert
from stsr.eval import synthetic
from stsr.interpolators import Interpolator, PreparedPair
from stsr.io.video import decode, write_video
from stsr.plugin.commands.watch import status_text
from stsr.plugin.watch.intake import Inbox, StabilityTracker, is_temporary_name, parse_patterns
from stsr.plugin.watch.intake_loop import IntakeLoop
from stsr.plugin.watch.journal import JOURNAL_NAME, ChunkState, Job, JobState, Journal
from stsr.plugin.watch.naming import NAME_MAX, free_output_path, output_name, temporary_path
from stsr.plugin.watch.service import LOG_NAME, WatchService, WatchSettings, describe_failure

REPO = Path(__file__).resolve().parents[1]
SETTLE = 0.5
FLOW = ConvertOptions(backend="flow")

pytestmark = pytest.mark.slow


# -- helpers ---------------------------------------------------------------------------------


def _frames(count: int) -> list:
    scene = synthetic.sample_scene(160, 90, seconds=count * 1001 / 24000)
    return [scene.source_frame(index) for index in range(count)]


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 16-frame 160x90 video to copy around."""
    path = tmp_path_factory.mktemp("clips") / "clip.mkv"
    write_video(path, _frames(16), Fraction(24000, 1001))
    return path


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Long enough (a few seconds of work) to be caught in the middle by a signal."""
    path = tmp_path_factory.mktemp("clips") / "long.mkv"
    frames = _frames(24)
    write_video(path, (frames[index % 24] for index in range(480)), Fraction(24000, 1001))
    return path


def frame_count(path: Path) -> int:
    return sum(1 for _ in decode(path))


def wait_until(condition: Callable[[], object], timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def jobs(outbox: Path) -> list[Job]:
    if not (outbox / JOURNAL_NAME).exists():
        return []
    journal = Journal(outbox / JOURNAL_NAME)
    try:
        return journal.jobs()
    finally:
        journal.close()


def outputs(outbox: Path) -> list[str]:
    """Every video file under OUTBOX (relative), temporaries included."""
    return sorted(path.relative_to(outbox).as_posix() for path in outbox.rglob("*")
                  if path.is_file() and path.suffix in (".mkv", ".mp4") and path.name != JOURNAL_NAME)


def temporaries(outbox: Path) -> list[Path]:
    return [path for path in outbox.rglob("*") if ".stsr-tmp-" in path.name]


class FakeClock:
    """Monotonic seconds that move only when a test says so: settle periods pass without sleeping."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


def look(intake: IntakeLoop) -> None:
    """Wait until the intake loop has made a whole pass that began now (the timeout is only an upper bound)."""
    assert intake.wait_for_pass(timeout=60), "the intake loop stopped making passes"


class ServiceThread:
    """A watcher running in this process (no signal handlers), stopped like a signal would."""

    def __init__(self, settings: WatchSettings, interpolator: Interpolator | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.service = WatchService(settings, interpolator, clock)
        self.result: int | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.result = self.service.run()
        except BaseException as error:
            self.error = error

    def __enter__(self) -> ServiceThread:
        self.thread.start()
        wait_until(lambda: self.service.started.is_set() or self.error is not None, what="the watcher to start")
        if self.error is not None:
            raise self.error
        return self

    @property
    def intake(self) -> IntakeLoop:
        assert self.service.intake is not None
        return self.service.intake

    def __exit__(self, *exc_info: object) -> None:
        self.service.request_stop("test finished")
        self.thread.join(30)
        assert not self.thread.is_alive()
        if self.error is not None and exc_info[0] is None:
            raise self.error


def watch_command(*arguments: str | os.PathLike[str]) -> list[str]:
    return [sys.executable, "-m", "stsr.plugin.cli", "watch", *map(str, arguments)]


def start_watcher(inbox: Path, outbox: Path, *extra: str, **popen: object) -> subprocess.Popen[str]:
    return subprocess.Popen(watch_command(inbox, outbox, "--settle", str(SETTLE), "--backend", "flow", *extra),
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def wait_for_running(outbox: Path, name: str, process: subprocess.Popen[str] | None = None,
                     temporary: bool = True) -> Job:
    """Wait until ``name`` is being converted and (``temporary``) its first frames are written."""
    found: list[Job] = []

    def running() -> bool:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"watcher exited early: {process.communicate()[1]}")
        found[:] = [job for job in jobs(outbox) if job.path == name and job.state is JobState.RUNNING]
        return bool(found) and (bool(temporaries(outbox)) or not temporary)

    wait_until(running, what=f"{name} to be running")
    return found[0]


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    inbox, outbox = tmp_path / "in box", tmp_path / "out box"
    inbox.mkdir()
    return inbox, outbox


# -- naming, intake and journal rules (fast) ---------------------------------------------------


def test_output_names_fit_name_max_and_never_overwrite(tmp_path: Path) -> None:
    rate = Fraction(60000, 1001)
    assert output_name("Episode 01.mkv", rate) == "Episode 01.stsr60.mkv"
    assert output_name("-a.mp4", Fraction(120)) == "-a.stsr120.mp4"
    assert output_name("show.ts", rate) == "show.stsr60.mkv"  # containers the writer cannot fill become .mkv
    assert output_name("ep.mkv", rate, copy=2) == "ep.stsr60 (2).mkv"

    long_a = "第一話" * 30 + "a.mkv"  # 270 bytes of UTF-8 before the suffix
    long_b = "第一話" * 30 + "b.mkv"
    for name in (long_a, long_b):
        assert len(os.fsencode(name)) > NAME_MAX - 10
        out = output_name(name, rate, copy=12)
        assert len(os.fsencode(out)) <= NAME_MAX
        assert len(os.fsencode(temporary_path(tmp_path / out, pid=4194304).name)) <= NAME_MAX
        assert out.endswith(".stsr60 (12).mkv")
        out.encode("utf-8")  # cut at a character boundary
    assert output_name(long_a, rate) != output_name(long_b, rate)

    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "ep.stsr60.mkv").write_bytes(b"someone else's file")
    assert free_output_path(tmp_path, "sub/ep.mkv", rate) == "sub/ep.stsr60 (2).mkv"


def test_temporary_names_patterns_and_symlinks(tmp_path: Path) -> None:
    for name in ("ep.mkv.part", "ep.mkv.!qB", "~ep.mkv", ".ep.mkv", "ep.mkv.crdownload", ".ep.stsr-tmp-12.mkv"):
        assert is_temporary_name(name), name
    assert not is_temporary_name("ep 01 [1080p].mkv")
    inbox = tmp_path / "in"
    (inbox / "sub").mkdir(parents=True)
    outside = tmp_path / "outside.mkv"
    outside.write_bytes(b"x")
    (inbox / "a.MKV").write_bytes(b"x")
    (inbox / "notes.txt").write_bytes(b"x")
    (inbox / "sub" / "b.mp4").write_bytes(b"x")
    (inbox / "escape.mkv").symlink_to(outside)
    (inbox / "linked").symlink_to(tmp_path, target_is_directory=True)
    flat = Inbox(inbox, recursive=False, patterns=parse_patterns(None))
    assert [path.name for path in flat.scan()] == ["a.MKV"]
    deep = Inbox(inbox, recursive=True, patterns=parse_patterns("*.mp4, *.mkv"))
    assert sorted(deep.relative(path) for path in deep.scan()) == ["a.MKV", "sub/b.mp4"]
    assert deep.relative(inbox / "linked" / "outside.mkv") is None
    assert deep.relative(inbox / "escape.mkv") is None


def test_journal_recovery_rules(tmp_path: Path) -> None:
    journal = Journal(tmp_path / JOURNAL_NAME)
    crashed = journal.add("crashed.mkv", 1, 1, "a")
    renamed = journal.add("renamed.mkv", 1, 1, "b")
    failed = journal.add("failed.mkv", 1, 1, "c")
    hopeless = journal.add("hopeless.mkv", 1, 1, "d")
    for job in (crashed, renamed):
        journal.start(job.id)
        journal.set_output(job.id, f"{job.path}.out")
    (tmp_path / "renamed.mkv.out").write_bytes(b"complete")  # the rename happened just before the crash
    for job, attempts in ((failed, 1), (hopeless, 3)):
        for _ in range(attempts):
            journal.start(job.id)
        journal.fail(job.id, "broken", retry_at=time.time() + 3600)
    journal.recover(tmp_path, max_attempts=3)
    states = {job.path: (job.state, job.attempts) for job in journal.jobs()}
    assert states == {
        "crashed.mkv": (JobState.QUEUED, 1),  # starts again; the crash counted as an attempt
        "renamed.mkv": (JobState.DONE, 1),
        "failed.mkv": (JobState.QUEUED, 1),
        "hopeless.mkv": (JobState.FAILED, 3),
    }
    assert journal.next_queued().path == "crashed.mkv"  # the interrupted one keeps its place
    journal.close()


def test_journal_chunk_rules(tmp_path: Path) -> None:
    """A cluster's chunk rows: same plan kept across restarts, another plan replaces them, running -> queued."""
    journal = Journal(tmp_path / JOURNAL_NAME)
    job = journal.add("episode.mkv", 1, 1, "a")
    journal.start(job.id)
    spans = [(0, 10), (10, 20), (20, 25)]
    rows = journal.plan_chunks(job.id, "plan-1", spans)
    assert [(row.number, row.first, row.stop, row.state, row.attempts) for row in rows] == [
        (0, 0, 10, ChunkState.QUEUED, 0), (1, 10, 20, ChunkState.QUEUED, 0), (2, 20, 25, ChunkState.QUEUED, 0)]
    for number in (0, 1):
        journal.chunk_started(job.id, number)
    journal.chunk_done(job.id, 0, "/shared/chunk-00000.mkv", "ab" * 32, "node:1", 1.5)
    assert journal.chunk_progress() == {job.id: (1, 3)}
    journal.recover(tmp_path, max_attempts=3)  # the coordinator was killed
    rows = journal.plan_chunks(job.id, "plan-1", spans)  # the restart plans the same file again
    assert [(row.state, row.attempts) for row in rows] == [
        (ChunkState.DONE, 1), (ChunkState.QUEUED, 1), (ChunkState.QUEUED, 0)]
    assert rows[0].checksum == "ab" * 32 and rows[0].output == "/shared/chunk-00000.mkv"
    rows = journal.plan_chunks(job.id, "plan-2", spans[:2])  # other options: another plan
    assert [(row.plan, row.state, row.attempts) for row in rows] == [("plan-2", ChunkState.QUEUED, 0)] * 2
    journal.close()


def test_disk_full_errors_are_named() -> None:
    assert describe_failure(OSError(28, "No space left on device")).startswith("no space left on device")
    assert "EFBIG" in describe_failure(OSError(27, "File too large"))


# -- the watcher at work -----------------------------------------------------------------------


def test_settle_period_counts_from_the_last_change_on_the_injected_clock(tmp_path: Path) -> None:
    clock = FakeClock()
    tracker = StabilityTracker(SETTLE, clock)
    path = tmp_path / "growing.mkv"
    path.write_bytes(b"x" * 100)
    tracker.notice(path)
    clock.advance(SETTLE * 0.9)
    assert tracker.ready() == []
    for size in (200, 300, 400):  # each change restarts the period: 1.2 settle periods pass, none since a change
        with open(path, "ab") as file:
            file.write(b"x" * 100)
        assert tracker.ready() == [] and path.stat().st_size == size
        clock.advance(SETTLE * 0.4)
        assert tracker.ready() == []
    clock.advance(SETTLE * 0.6)
    assert tracker.ready() == [path]
    empty = tmp_path / "empty.mkv"
    empty.write_bytes(b"")
    tracker.notice(empty)
    clock.advance(10 * SETTLE)
    assert tracker.ready() == [path]  # an empty file is never complete
    path.unlink()
    assert tracker.ready() == [] and path not in tracker  # a vanished file is dropped


def test_slow_copy_is_taken_only_when_complete(folders: tuple[Path, Path], long_clip: Path, tmp_path: Path) -> None:
    inbox, outbox = folders
    data = long_clip.read_bytes()
    quarter = len(data) // 4
    target = inbox / "slow copy.mkv"
    clock = FakeClock()
    settings = WatchSettings(inbox, outbox, FLOW, settle=SETTLE)
    with ServiceThread(settings, clock=clock) as watcher:
        with open(target, "wb") as file:
            # Held open for writing with pauses longer than the settle period: a stalled copy.
            for part in range(2):
                file.write(data[part * quarter:(part + 1) * quarter])
                file.flush()
                wait_until(lambda: target in watcher.intake.pending(), what="the copy to be noticed")
                look(watcher.intake)  # the loop has seen this size
                clock.advance(3 * SETTLE)
                look(watcher.intake)
                assert jobs(outbox) == [], "a file still open for writing was taken"
            assert "waiting for slow copy.mkv: another program still has it open for writing" in \
                (outbox / LOG_NAME).read_text(encoding="utf-8")
        # Appended in chunks by writers that close it each time: only size and times tell it is still moving.
        # Each pause is shorter than the settle period, all of them together longer.
        rest = data[2 * quarter:]
        step = len(rest) // 4 + 1
        for start in range(0, len(rest), step):
            with open(target, "ab") as file:
                file.write(rest[start:start + step])
            look(watcher.intake)
            clock.advance(SETTLE * 2 / 3)
            look(watcher.intake)
            assert jobs(outbox) == [], "a growing file was taken"
        assert target.read_bytes() == data
        clock.advance(SETTLE / 3)  # now a whole settle period since the last change
        wait_until(lambda: [job.state for job in jobs(outbox)] == [JobState.DONE], what="the copy to be converted")
    [job] = jobs(outbox)
    assert job.size == len(data) and job.attempts == 1
    assert outputs(outbox) == ["slow copy.stsr60.mkv"]
    reference = tmp_path / "reference.mkv"
    convert(long_clip, reference, FLOW)
    assert frame_count(outbox / "slow copy.stsr60.mkv") == frame_count(reference)


def test_ten_files_dropped_at_once_are_each_converted_once(folders: tuple[Path, Path], clip: Path,
                                                           tmp_path: Path) -> None:
    inbox, outbox = folders
    (inbox / "season 1").mkdir()
    outbox.mkdir()
    (outbox / "ep 02.stsr60.mkv").write_bytes(b"not ours: must survive")
    long_name = "長い題名" * 20 + ".mkv"  # 244 bytes: the output name must be shortened
    names = ["ep 01.mkv", "ep 02.mkv", "-starts with dash.mkv", "日本語 第3話.mkv", long_name, "ep 06.mp4",
             "season 1/ep 07.mkv", "season 1/ep 08.mkv", "ep 09 [1080p].mkv", "ep 10.mkv"]
    staging = tmp_path / "staging"
    for name in names:
        (staging / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(clip, staging / name)
    ignored = tmp_path / "outside.mkv"
    shutil.copyfile(clip, ignored)

    settings = WatchSettings(inbox, outbox, FLOW, recursive=True, settle=SETTLE)
    with ServiceThread(settings) as watcher:
        for name in names:  # dropped at once: renames into INBOX
            os.rename(staging / name, inbox / name)
        for name in ("ep 11.mkv.part", ".hidden.mkv", "~ep 12.mkv"):
            shutil.copyfile(clip, inbox / name)
        (inbox / "link outside.mkv").symlink_to(ignored)
        wait_until(lambda: sum(job.state is JobState.DONE for job in jobs(outbox)) >= len(names),
                   what="ten conversions")
        look(watcher.intake)
        assert watcher.intake.pending() == []  # nothing more is waiting to be queued after the last one
    done = jobs(outbox)
    assert sorted(job.path for job in done) == sorted(names)
    assert all(job.state is JobState.DONE and job.attempts == 1 for job in done)
    # One job at a time, in the order the files were queued.
    starts = [job.started_at for job in done]
    assert starts == sorted(starts)
    assert all(done[index].finished_at <= done[index + 1].started_at for index in range(len(done) - 1))
    produced = outputs(outbox)
    assert len(produced) == len(names) + 1
    assert (outbox / "ep 02.stsr60.mkv").read_bytes() == b"not ours: must survive"
    assert "ep 02.stsr60 (2).mkv" in produced
    assert "season 1/ep 07.stsr60.mkv" in produced and "ep 06.stsr60.mp4" in produced
    assert any(name.startswith("長い題名") and len(os.fsencode(name)) <= NAME_MAX for name in produced)
    expected = frame_count(outbox / "ep 01.stsr60.mkv")
    assert expected > 16
    for job in done:
        assert frame_count(outbox / job.output) == expected
    assert sorted(path.name for path in inbox.rglob("*") if path.is_file() or path.is_symlink()) == sorted(
        [Path(name).name for name in names] + ["ep 11.mkv.part", ".hidden.mkv", "~ep 12.mkv", "link outside.mkv"])
    log = (outbox / LOG_NAME).read_text(encoding="utf-8")
    assert log.count(" done ") == len(names) and log.count(" queued ") == len(names)


def test_corrupt_and_non_video_files_fail_with_reason_and_are_retried_up_to_the_limit(
        folders: tuple[Path, Path], clip: Path) -> None:
    inbox, outbox = folders
    shutil.copyfile(clip, inbox / "good.mkv")
    (inbox / "corrupt.mkv").write_bytes(clip.read_bytes()[:900])  # header, then nothing decodable
    (inbox / "notes.mkv").write_text("this is a text file, not a video\n")
    settings = WatchSettings(inbox, outbox, FLOW, settle=SETTLE, once=True, max_attempts=2)
    assert WatchService(settings).run() == 1  # --once reports that something failed
    by_name = {job.path: job for job in jobs(outbox)}
    assert by_name["good.mkv"].state is JobState.DONE
    for name in ("corrupt.mkv", "notes.mkv"):
        assert by_name[name].state is JobState.FAILED and by_name[name].attempts == 1
        assert name in by_name[name].error
    assert "not a readable video" in by_name["notes.mkv"].error
    assert outputs(outbox) == ["good.stsr60.mkv"]
    assert "Traceback" not in (outbox / LOG_NAME).read_text(encoding="utf-8")  # their reasons say it all

    # Each start retries the failed ones, until --max-attempts.
    assert WatchService(settings).run() == 1
    assert WatchService(settings).run() == 0  # nothing left to try
    by_name = {job.path: job for job in jobs(outbox)}
    assert [by_name[name].attempts for name in ("good.mkv", "corrupt.mkv", "notes.mkv")] == [1, 2, 2]
    assert outputs(outbox) == ["good.stsr60.mkv"]

    result = subprocess.run(watch_command("--status", outbox), cwd=REPO, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "1 done" in result.stdout and "2 failed (2 given up)" in result.stdout
    notes_line = next(line for line in result.stdout.splitlines() if "notes.mkv" in line)
    assert notes_line.startswith("failed") and "gave up" in notes_line and "not a readable video" in notes_line
    assert status_text(outbox) == result.stdout.rstrip("\n")


def test_files_that_vanish_or_change_before_their_turn(folders: tuple[Path, Path], clip: Path) -> None:
    inbox, outbox = folders
    outbox.mkdir()
    journal = Journal(outbox / JOURNAL_NAME)
    journal.add("gone.mkv", 100, 1, "a")  # queued by a previous run, deleted since
    journal.add("changed.mkv", 100, 1, "b")  # queued by a previous run, replaced since
    journal.close()
    shutil.copyfile(clip, inbox / "changed.mkv")
    settings = WatchSettings(inbox, outbox, FLOW, settle=SETTLE, once=True)
    assert WatchService(settings).run() == 0  # nothing failed: one was removed, one replaced
    [changed] = jobs(outbox)
    assert changed.path == "changed.mkv" and changed.state is JobState.DONE and changed.size == clip.stat().st_size
    assert changed.attempts == 1
    assert outputs(outbox) == ["changed.stsr60.mkv"]
    log = (outbox / LOG_NAME).read_text(encoding="utf-8")
    assert "skipped gone.mkv: it disappeared" in log and "skipped changed.mkv: it changed" in log


def test_kill_9_mid_job_then_restart_leaves_no_partial_output_and_finishes(
        folders: tuple[Path, Path], clip: Path, long_clip: Path) -> None:
    inbox, outbox = folders
    shutil.copyfile(long_clip, inbox / "long one.mkv")
    for index in (1, 2):
        shutil.copyfile(clip, inbox / f"short {index}.mkv")
        os.utime(inbox / f"short {index}.mkv", ns=(time.time_ns() + index * 10**9,) * 2)  # arrived later
    watcher = start_watcher(inbox, outbox)
    try:
        wait_for_running(outbox, "long one.mkv", watcher)
    finally:
        watcher.kill()
        watcher.communicate(timeout=30)
    assert watcher.returncode == -signal.SIGKILL
    assert temporaries(outbox), "the kill should have left a partial temporary file"
    assert "long one.stsr60.mkv" not in outputs(outbox)

    restarted = subprocess.run(watch_command(inbox, outbox, "--once", "--settle", str(SETTLE), "--backend", "flow"),
                               cwd=REPO, capture_output=True, text=True, timeout=180)
    assert restarted.returncode == 0, restarted.stderr
    assert "removed leftover temporary file" in restarted.stderr
    assert temporaries(outbox) == []
    assert outputs(outbox) == ["long one.stsr60.mkv", "short 1.stsr60.mkv", "short 2.stsr60.mkv"]
    by_name = {job.path: job for job in jobs(outbox)}
    assert all(job.state is JobState.DONE for job in by_name.values())
    assert by_name["long one.mkv"].attempts == 2  # the killed attempt counts
    assert frame_count(outbox / "long one.stsr60.mkv") == by_name["long one.mkv"].frames > 1000


def test_second_watcher_on_the_same_outbox_refuses(folders: tuple[Path, Path], long_clip: Path) -> None:
    inbox, outbox = folders
    shutil.copyfile(long_clip, inbox / "episode.mkv")
    first = start_watcher(inbox, outbox)
    try:
        wait_for_running(outbox, "episode.mkv", first)
        second = subprocess.run(watch_command(inbox, outbox, "--once", "--backend", "flow"), cwd=REPO,
                                capture_output=True, text=True, timeout=120)
        assert second.returncode == 2
        assert second.stderr.count("\n") == 1 and "already being watched" in second.stderr
        assert f"pid {first.pid}" in second.stderr
        wait_until(lambda: [job.state for job in jobs(outbox)] == [JobState.DONE], what="the first watcher")
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=30)
    assert outputs(outbox) == ["episode.stsr60.mkv"]
    assert [job.attempts for job in jobs(outbox)] == [1]


class StuckInterpolator(Interpolator):
    """A model call that does not return until released (a huge frame on a slow CPU)."""

    name = "stuck"

    def __init__(self, release: threading.Event) -> None:
        super().__init__("cpu")
        self.release = release

    def prepare(self, frame0: object, frame1: object) -> PreparedPair:
        self.release.wait(120)
        raise RuntimeError("released")


def test_a_stuck_model_does_not_hold_up_a_stop(folders: tuple[Path, Path], clip: Path) -> None:
    inbox, outbox = folders
    shutil.copyfile(clip, inbox / "episode.mkv")
    release = threading.Event()
    settings = WatchSettings(inbox, outbox, FLOW, settle=SETTLE, stop_grace=1.0)
    try:
        with ServiceThread(settings, StuckInterpolator(release)) as watcher:
            wait_for_running(outbox, "episode.mkv", temporary=False)  # no frame will ever come out
            time.sleep(0.5)
        assert watcher.service.abandoned_worker and watcher.result == 0
        [job] = jobs(outbox)
        assert job.state is JobState.INTERRUPTED and job.attempts == 0
        assert temporaries(outbox) == [] and outputs(outbox) == []
    finally:
        release.set()


class BuggyInterpolator(Interpolator):
    """A model whose code has a bug: every call raises an error that is not a user-facing one."""

    name = "buggy"

    def __init__(self) -> None:
        super().__init__("cpu")

    def prepare(self, frame0: object, frame1: object) -> PreparedPair:
        raise ValueError("a bug in the model code")


def test_a_failing_conversion_logs_its_traceback_at_error_level(folders: tuple[Path, Path], clip: Path,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    inbox, outbox = folders
    shutil.copyfile(clip, inbox / "episode.mkv")
    settings = WatchSettings(inbox, outbox, FLOW, settle=SETTLE, once=True)
    with caplog.at_level(logging.INFO, logger="stsr.watch"):
        assert WatchService(settings, BuggyInterpolator()).run() == 1
    [job] = jobs(outbox)
    assert job.state is JobState.FAILED and job.error == "ValueError: a bug in the model code"
    [record] = [record for record in caplog.records if record.getMessage().startswith("failed episode.mkv")]
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None and record.exc_info[0] is ValueError
    log = (outbox / LOG_NAME).read_text(encoding="utf-8")
    failed_at = log.index(" ERROR failed episode.mkv (attempt 1/3, will retry): ValueError: a bug in the model code\n")
    traceback_text = log[failed_at:]
    assert traceback_text.splitlines()[1] == "Traceback (most recent call last):"
    assert 'raise ValueError("a bug in the model code")' in traceback_text
    assert temporaries(outbox) == [] and outputs(outbox) == []


def test_a_stop_mid_conversion_cancels_it_and_leaves_no_thread_behind(folders: tuple[Path, Path],
                                                                     long_clip: Path) -> None:
    inbox, outbox = folders
    shutil.copyfile(long_clip, inbox / "episode.mkv")
    before = set(threading.enumerate())
    settings = WatchSettings(inbox, outbox, FLOW, settle=SETTLE, stop_grace=30.0)
    with ServiceThread(settings) as watcher:
        wait_for_running(outbox, "episode.mkv")  # frames are being written
    assert watcher.result == 0 and not watcher.service.abandoned_worker  # cancelled and waited for
    left = [thread.name for thread in set(threading.enumerate()) - before if thread is not watcher.thread]
    assert left == [], f"threads outlived the watcher: {left}"
    [job] = jobs(outbox)
    assert job.state is JobState.INTERRUPTED and job.attempts == 0
    assert temporaries(outbox) == [] and outputs(outbox) == []
    assert "interrupted episode.mkv (test finished)" in (outbox / LOG_NAME).read_text(encoding="utf-8")


def test_sigterm_stops_within_seconds_and_records_the_job_as_interrupted(folders: tuple[Path, Path],
                                                                        long_clip: Path) -> None:
    inbox, outbox = folders
    shutil.copyfile(long_clip, inbox / "episode.mkv")
    watcher = start_watcher(inbox, outbox)
    try:
        wait_for_running(outbox, "episode.mkv", watcher)
        watcher.send_signal(signal.SIGTERM)
        _, stderr = watcher.communicate(timeout=15)  # a hang fails the test; the stop itself takes well under
    finally:
        if watcher.poll() is None:
            watcher.kill()
    assert watcher.returncode == 0, stderr
    assert "interrupted episode.mkv (SIGTERM received)" in stderr
    [job] = jobs(outbox)
    assert job.state is JobState.INTERRUPTED and job.attempts == 0  # a stop is not the file's fault
    assert temporaries(outbox) == [] and outputs(outbox) == []
    assert "interrupted" in status_text(outbox)


#: runs ``stsr`` with a file size limit: writes past it fail with EFBIG, a stand-in for a full disk
_SIZE_LIMITED_STSR = (
    "import resource, signal, sys\n"
    "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
    "resource.setrlimit(resource.RLIMIT_FSIZE, (600_000, 600_000))\n"
    "from stsr.plugin.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def test_a_write_error_like_a_full_disk_fails_the_job_cleanly_and_the_watcher_goes_on(
        folders: tuple[Path, Path], clip: Path, long_clip: Path) -> None:
    inbox, outbox = folders
    shutil.copyfile(long_clip, inbox / "big.mkv")  # lossless output far above the limit
    shutil.copyfile(clip, inbox / "small.mkv")
    os.utime(inbox / "small.mkv", ns=(time.time_ns() + 10**9,) * 2)
    command = [sys.executable, "-c", _SIZE_LIMITED_STSR, "watch", str(inbox), str(outbox), "--once",
               "--settle", str(SETTLE), "--backend", "flow", "--codec", "ffv1"]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=180)
    assert result.returncode == 1, result.stderr
    by_name = {job.path: job for job in jobs(outbox)}
    assert by_name["big.mkv"].state is JobState.FAILED
    assert "file too large" in by_name["big.mkv"].error and "partial output was removed" in by_name["big.mkv"].error
    assert by_name["small.mkv"].state is JobState.DONE
    assert temporaries(outbox) == []
    assert outputs(outbox) == ["small.stsr60.mkv"]
