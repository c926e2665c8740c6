"""Conversion on Ray workers: chunked output must be frame-identical to a single-process run.

One local Ray session (``ray.init(num_cpus=2)``) is shared by all tests here, with a
pool of two ``flow`` workers that stays loaded across conversions. Outputs are FFV1,
compared frame by frame (timestamp and SHA-256 of the decoded RGB).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from conftest import REPO, run_stsr, small_scene

from stsr.engine import ConvertOptions, convert
from stsr.engine.chunks import SourceEntry, SourceScan, plan_chunks, scan_source, schedule_context
from stsr.io.video import decode
from stsr.schedules import SCHEDULES

RATE_IN = Fraction(24000, 1001)
RATE_OUT = Fraction(60000, 1001)


def frame_hashes(path: Path) -> list[tuple[int, str]]:
    with av.open(str(path)) as container:
        return [(frame.pts, hashlib.sha256(frame.to_ndarray(format="rgb24").tobytes()).hexdigest())
                for frame in container.decode(container.streams.video[0])]


def options(schedule: str) -> ConvertOptions:
    return ConvertOptions(backend="flow", device="cpu", codec="ffv1", schedule=schedule)


def single_process(clip: Path, schedule: str) -> list[tuple[int, str]]:
    target = clip.with_name(f"{clip.stem}.single-{schedule}.mkv")
    if not target.exists():
        convert(clip, target, options(schedule))
    return frame_hashes(target)


def write_h264_clip(path: Path, frames: list[np.ndarray], rate: Fraction, gop: int) -> None:
    """An H.264 clip with a keyframe every ``gop`` frames (and B-frames), so chunks start after seeks."""
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=rate, options={"g": str(gop), "keyint_min": str(gop),
                                                                     "preset": "veryfast", "crf": "12"})
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        for index, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = index
            frame.time_base = 1 / rate
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


# -- the planner (pure, no Ray) ------------------------------------------------------------------


def fake_scan(count: int, cuts: tuple[int, ...] = (), keyframes: tuple[int, ...] = (0,)) -> SourceScan:
    step = 1 / RATE_IN
    entries = tuple(SourceEntry(i, i * step, step, i in cuts, i if i in keyframes else None) for i in range(count))
    return SourceScan(Path("clip.mp4"), None, 160, 90, entries)


@pytest.mark.parametrize("schedule", sorted(SCHEDULES))
@pytest.mark.parametrize("size", [1, 7, 13, 100])
def test_plan_covers_every_output_once_with_the_frames_it_needs(schedule: str, size: int) -> None:
    scan = fake_scan(48, cuts=(20,), keyframes=(0, 10, 30))
    plan = plan_chunks(scan, RATE_OUT, schedule, size, prefer_cuts=False)
    assert plan.total == 120
    assert next(c.first for c in plan.chunks) == 0 and plan.chunks[-1].stop == plan.total
    for before, after in zip(plan.chunks, plan.chunks[1:], strict=False):
        assert before.stop == after.first
    times = [entry.time for entry in scan.entries]
    for chunk in plan.chunks:
        needed_first = max(i for i, t in enumerate(times) if t <= plan.time_of(chunk.first))
        needed_last = max(i for i, t in enumerate(times) if t <= plan.time_of(chunk.stop - 1))
        assert chunk.keyframe <= chunk.source_start <= needed_first
        assert scan.entries[chunk.keyframe].keyframe_pts is not None or chunk.keyframe == 0
        assert chunk.source_stop > needed_last + 1 or chunk.source_stop == len(times)
        assert chunk.render_from <= chunk.first
        shot = scan.shot_start(needed_first)
        assert shot == (20 if needed_first >= 20 else 0)
        assert chunk.source_start >= shot  # never reaches back across a cut
        if schedule == "pairs":
            assert (chunk.source_start - shot) % 2 == 0  # pairs counted from the shot start
        if schedule_context(schedule)[0] is None:
            assert chunk.at_shot_start and chunk.source_start == shot


def test_plan_moves_boundaries_to_nearby_cuts() -> None:
    scan = fake_scan(48, cuts=(14, 33))
    cut_outputs = [35, 83]  # ceil(14 * 2.5), ceil(33 * 2.5)
    plan = plan_chunks(scan, RATE_OUT, "cadence", 40)
    assert [c.first for c in plan.chunks] == [0, *cut_outputs]
    assert all(c.at_shot_start for c in plan.chunks)
    assert [c.source_start for c in plan.chunks] == [0, 14, 33]
    far = plan_chunks(fake_scan(48), RATE_OUT, "cadence", 40)
    assert [c.first for c in far.chunks] == [0, 40, 80]


def test_schedule_context_reads_a_declared_context(monkeypatch: pytest.MonkeyPatch) -> None:
    producer = SCHEDULES["cadence"]
    monkeypatch.setattr(producer, "context_frames", 9, raising=False)
    before, after = schedule_context("cadence")
    assert before == 9
    assert after > producer.lookahead + producer.max_hold
    monkeypatch.setattr(producer, "context_frames", (5, 40), raising=False)
    assert schedule_context("cadence") == (5, 41)


def test_scan_matches_a_full_decode(make_clip: Callable[..., Path]) -> None:
    clip = make_clip("scan.mp4", frames=24, cut_at=12)
    scan = scan_source(clip, None, True)
    decoded = list(decode(clip))
    assert [(e.time, e.duration) for e in scan.entries] == [(f.time, f.duration) for f in decoded]
    assert [e.index for e in scan.entries if e.cut_before] == [12]
    assert scan.entries[0].keyframe_pts is not None


def test_decoding_from_a_keyframe_counts_the_same_frames(tmp_path: Path) -> None:
    from stsr.plugin.cluster.render import decode_counting

    frames = list(small_scene(frames=30).source_frames())
    clip = tmp_path / "gop.mp4"
    write_h264_clip(clip, frames, RATE_IN, gop=6)
    scan = scan_source(clip, None, False)
    keyframes = [e.index for e in scan.entries if e.keyframe_pts is not None]
    assert len(keyframes) >= 4
    reference = list(decode(clip))
    for start in keyframes[1:]:
        got = list(decode_counting(str(clip), None, scan.entries[start: start + 8]))
        assert [f.index for f in got] == list(range(start, min(start + 8, len(reference))))
        for frame in got:
            assert frame.time == reference[frame.index].time
            assert np.array_equal(frame.rgb, reference[frame.index].rgb)


# -- on Ray ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def ray_session() -> Iterator[object]:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def flow_workers(ray_session: object) -> list[object]:
    """Two loaded flow workers on half a CPU each (the rest of the session's CPUs stay free)."""
    from stsr.plugin.cluster.actors import remote_worker_class

    worker_class = remote_worker_class(ray_session)
    return [worker_class.options(num_cpus=0.5).remote("flow", "cpu", {}, 1) for _ in range(2)]


def chunked(clip: Path, schedule: str, size: int, workers: list[object], prefer_cuts: bool = False,
            **cluster_options: object) -> tuple[list[tuple[int, str]], object]:
    from stsr.plugin.cluster.coordinator import ClusterOptions, convert_on_cluster

    target = clip.with_name(f"{clip.stem}.chunked-{schedule}-{size}-{prefer_cuts}.mkv")
    result = convert_on_cluster(clip, target, options(schedule),
                                ClusterOptions(chunk_frames=size, prefer_cuts=prefer_cuts, **cluster_options),
                                actors=workers)
    return frame_hashes(target), result


@pytest.mark.parametrize("schedule", ["cadence", "pairs"])
def test_chunked_equals_single_process_at_several_chunk_sizes(
        make_clip: Callable[..., Path], flow_workers: list[object], schedule: str) -> None:
    clip = make_clip("twos.mp4", frames=30)
    reference = single_process(clip, schedule)
    assert len(reference) == 75
    for size in (7, 13, 40):  # 7 and 13 do not divide the 2:5 pattern of 23.976 -> 59.94
        hashes, result = chunked(clip, schedule, size, flow_workers)
        assert result.chunks == -(-75 // size)
        assert hashes == reference, f"chunk size {size}"


@pytest.mark.parametrize("schedule", ["cadence", "pairs"])
def test_chunked_equals_single_process_across_a_cut_and_on_threes(
        make_clip: Callable[..., Path], flow_workers: list[object], schedule: str) -> None:
    clip = make_clip("cut.mp4", frames=30, cut_at=13, holds=(3,))
    reference = single_process(clip, schedule)
    cut_output = -(-13 * 5 // 2)  # the first output at or after the cut
    for size in (cut_output - 1, cut_output + 1, 11):  # boundaries right before/after the cut, inside holds
        hashes, _ = chunked(clip, schedule, size, flow_workers)
        assert hashes == reference, f"chunk size {size}"
    hashes, result = chunked(clip, schedule, 25, flow_workers, prefer_cuts=True)
    assert hashes == reference
    assert result.chunks == 3


@pytest.mark.parametrize("schedule", ["cadence", "pairs"])
def test_chunked_equals_single_process_on_vfr_input_with_keyframes(
        make_clip: Callable[..., Path], flow_workers: list[object], schedule: str) -> None:
    step = 1 / RATE_IN
    times = [Fraction(round(i * step * 1000 + (17 if i % 5 == 3 else 0)), 1000) for i in range(30)]
    clip = make_clip("vfr.mp4", frames=30, times=times)
    assert len({b - a for a, b in itertools.pairwise(times)}) > 1
    reference = single_process(clip, schedule)
    hashes, _ = chunked(clip, schedule, 9, flow_workers)
    assert hashes == reference
    # Every frame a keyframe (FFV1 source): every chunk decodes after a seek.
    intra = clip.with_name("intra.mkv")
    convert(clip, intra, ConvertOptions(backend="flow", device="cpu", codec="ffv1", schedule="naive", fps=RATE_IN))
    reference = single_process(intra, schedule)
    hashes, _ = chunked(intra, schedule, 9, flow_workers)
    assert hashes == reference


def test_chunks_hold_exactly_the_frames_a_single_run_hands_its_h264_encoder(
        make_clip: Callable[..., Path], flow_workers: list[object], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The encoder's input, not its output: libx264's bitstream is not repeatable run to run here (its threads),
    so what is compared is every frame it is fed, and the chunks store those very frames (yuv420p)."""
    from stsr.io.encode import VideoWriter
    from stsr.plugin.cluster.coordinator import ClusterOptions, convert_on_cluster
    from stsr.plugin.cluster.render import load_record, read_chunk

    clip = make_clip("h264.mp4", frames=24, cut_at=10)
    h264 = ConvertOptions(backend="flow", device="cpu", codec="h264", schedule="cadence")
    fed: list[list[tuple[Fraction, str, int, int, object]]] = [[], []]
    write_frame = VideoWriter.write_frame

    def recording(run: int) -> Callable[..., None]:
        def record(self: VideoWriter, frame: av.VideoFrame, time: Fraction) -> None:
            write_frame(self, frame, time)
            fed[run].append((time, hashlib.sha256(frame.to_ndarray().tobytes()).hexdigest(), frame.color_range,
                             frame.colorspace, frame.pict_type))
        return record

    monkeypatch.setattr(VideoWriter, "write_frame", recording(0))
    convert(clip, tmp_path / "single.mkv", h264)
    monkeypatch.setattr(VideoWriter, "write_frame", recording(1))
    folder = tmp_path / "chunks"
    convert_on_cluster(clip, tmp_path / "chunked.mkv", h264,
                       ClusterOptions(chunk_frames=11, chunk_dir=folder, keep_chunks=True), actors=flow_workers)
    assert len(fed[0]) == 60 and fed[1] == fed[0]
    stored = [hashlib.sha256(planes.tobytes()).hexdigest() for number in range(len(list(folder.glob("*.mkv"))))
              for _, planes in read_chunk(folder / f"chunk-{number:05d}.mkv", "yuv420p")]
    assert stored == [entry[1] for entry in fed[0]]
    record = load_record(folder, 0)
    assert record is not None and record["pixels"] == "yuv420p"  # the encoder's input, not float RGB


def test_cadence_restarts_mid_shot_exactly_and_through_a_long_hold(
        make_clip: Callable[..., Path], flow_workers: list[object]) -> None:
    from stsr.engine.chunks import plan_chunks, scan_source

    clip = make_clip("long_shot.mp4", frames=96, holds=(2, 3))
    reference = single_process(clip, "cadence")
    scan = scan_source(clip, None, True)
    assert not scan.cuts
    plan = plan_chunks(scan, RATE_OUT, "cadence", 101, prefer_cuts=False)
    assert not all(chunk.at_shot_start for chunk in plan.chunks)  # really restarts inside the shot
    for size in (101, 37):
        hashes, _ = chunked(clip, "cadence", size, flow_workers)
        assert hashes == reference, f"chunk size {size}"
    still = make_clip("still.mp4", frames=48, holds=(40,))  # 40 frames without a new drawing
    reference = single_process(still, "cadence")
    hashes, _ = chunked(still, "cadence", 31, flow_workers)
    assert hashes == reference


def test_a_worker_that_dies_is_retried_and_the_output_is_unchanged(
        make_clip: Callable[..., Path], flow_workers: list[object], tmp_path: Path) -> None:
    clip = make_clip("crash.mp4", frames=24)
    reference = single_process(clip, "cadence")
    folder = tmp_path / "chunks"
    hashes, result = chunked(clip, "cadence", 10, flow_workers, chunk_dir=folder, keep_chunks=True, crash_chunk=1)
    assert hashes == reference
    assert (folder / ".crashed-00001").exists()  # the worker really died once
    renders = Counter(line.split()[0] for line in (folder / "renders.log").read_text().splitlines())
    # Twice for the crashed chunk; at most twice for the others (Ray retries at least once: see the watch
    # variant of this test below).
    assert renders["1"] == 2 and all(1 <= count <= 2 for count in renders.values())
    assert len(renders) == result.chunks
    assert not list(folder.glob("*.tmp.*"))  # the dead render's temporary file is gone or never renamed
    assert result.rendered == result.chunks


def test_a_killed_coordinator_restarts_without_rendering_finished_chunks(
        make_clip: Callable[..., Path], ray_session: object, flow_workers: list[object], tmp_path: Path) -> None:
    clip = make_clip("long.mp4", frames=48)
    reference = single_process(clip, "pairs")
    folder = tmp_path / "chunks"
    target = tmp_path / "restarted.mkv"
    address = ray_session.get_runtime_context().gcs_address  # type: ignore[attr-defined]
    command = [sys.executable, "-m", "stsr.plugin.cli", "convert", str(clip), str(target), "--backend", "flow",
               "--device", "cpu", "--codec", "ffv1", "--schedule", "pairs", "--cluster", address, "--workers", "1",
               "--worker-threads", "1", "--chunk-frames", "5", "--chunk-dir", str(folder), "--keep-chunks",
               "--quiet"]
    finished = kill_after_first_chunk(command, folder)
    second = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    assert second.returncode == 0, second.stderr
    assert f"{len(finished)} reused" in second.stderr
    renders = Counter(int(line.split()[0]) for line in (folder / "renders.log").read_text().splitlines())
    assert all(renders[number] == 1 for number in finished)
    assert set(renders) == set(range(24))
    assert frame_hashes(target) == reference


def settled_records(folder: Path) -> set[int]:
    """Finished chunks once the killed coordinator's orphaned worker (Ray ends it soon) stops adding any."""
    seen: list[tuple[set[int], int]] = []
    while len(seen) < 4 or len({(frozenset(s), n) for s, n in seen[-4:]}) > 1:
        log = folder / "renders.log"
        seen.append(({int(path.stem.split("-")[1]) for path in folder.glob("chunk-*.json")},
                     len(log.read_text().splitlines()) if log.exists() else 0))
        time.sleep(0.5)
    return seen[-1][0]

def kill_after_first_chunk(command: list[str], folder: Path) -> set[int]:
    """Start ``command``, SIGKILL it once its first chunk is settled in ``folder``; the chunks settled by then."""
    first = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while not list(folder.glob("chunk-*.json")):
        assert first.poll() is None, first.stderr.read().decode() if first.stderr else ""
        assert time.monotonic() < deadline, "no chunk finished"
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.wait()
    finished = settled_records(folder)
    assert len(finished) < 24, "every chunk finished before the kill; the restart would prove nothing"
    return finished


def ray_blocker(tmp_path: Path) -> Path:
    """A folder whose ``ray`` package fails to import: put it first on PYTHONPATH to run as if Ray were absent."""
    blocker = tmp_path / "no-ray"
    (blocker / "ray").mkdir(parents=True)
    (blocker / "ray" / "__init__.py").write_text("raise ImportError('Ray is blocked for this test')\n")
    return blocker


def test_without_ray_the_workers_option_converts_in_process(make_clip: Callable[..., Path], tmp_path: Path) -> None:
    clip = make_clip("noray.mp4", frames=24)
    reference = single_process(clip, "cadence")
    blocker = ray_blocker(tmp_path)
    target = tmp_path / "noray.mkv"
    result = run_stsr("convert", str(clip), str(target), "--backend", "flow", "--device", "cpu", "--codec", "ffv1",
                      "--workers", "2", "--quiet", env={**os.environ, "PYTHONPATH": str(blocker)})
    assert result.returncode == 0, result.stderr
    assert "converting in this process" in result.stderr
    assert frame_hashes(target) == reference


def test_the_cli_never_loads_ray_without_the_cluster_options() -> None:
    code = ("import sys; from stsr.plugin import cli; cli.build_parser('convert'); cli.build_parser('watch'); "
            "import stsr.engine.chunks, stsr.plugin.cluster.coordinator, stsr.plugin.watch.service, "
            "stsr.plugin.watch.cluster_worker; print('ray' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert result.stdout.strip() == "False", result.stderr


# -- the watch folder on the cluster -----------------------------------------------------------


WATCH_SETTLE = 0.5


def watch_folders(tmp_path: Path) -> tuple[Path, Path]:
    inbox, outbox = tmp_path / "inbox", tmp_path / "outbox"
    inbox.mkdir()
    return inbox, outbox


def journal_rows(outbox: Path) -> tuple[dict[str, object], dict[int, list[object]]]:
    """The watch journal's files by name and their chunk rows by job id."""
    from stsr.plugin.watch.journal import Journal

    journal = Journal.in_folder(outbox)
    try:
        jobs = {job.path: job for job in journal.jobs()}
        return jobs, {job.id: journal.chunks(job.id) for job in jobs.values()}
    finally:
        journal.close()


def test_watch_on_the_cluster_converts_files_like_single_process_and_journals_their_chunks(
        make_clip: Callable[..., Path], flow_workers: list[object], tmp_path: Path) -> None:
    from stsr.plugin.cluster.coordinator import ClusterOptions
    from stsr.plugin.watch.journal import ChunkState, JobState
    from stsr.plugin.watch.service import LOG_NAME, WatchService, WatchSettings

    first = make_clip("first.mkv", frames=30)
    second = make_clip("second.mkv", frames=30, cut_at=13, holds=(3,))
    references = {clip.stem: single_process(clip, "cadence") for clip in (first, second)}
    inbox, outbox = watch_folders(tmp_path)
    for clip in (first, second):
        (inbox / clip.name).write_bytes(clip.read_bytes())
    settings = WatchSettings(inbox, outbox, options("cadence"), settle=WATCH_SETTLE, once=True,
                             cluster=ClusterOptions(chunk_frames=13))
    assert WatchService(settings, actors=flow_workers).run() == 0

    jobs, chunks = journal_rows(outbox)
    for name, reference in references.items():
        assert frame_hashes(outbox / f"{name}.stsr60.mkv") == reference, name
        job = jobs[f"{name}.mkv"]
        assert job.state is JobState.DONE and job.frames == len(reference)  # type: ignore[attr-defined]
        rows = chunks[job.id]  # type: ignore[attr-defined]
        assert [row.number for row in rows] == list(range(len(rows))) and len(rows) >= -(-len(reference) // 13)
        assert [(row.first, row.stop) for row in rows] == list(itertools.pairwise(
            [0, *(row.stop for row in rows)]))[:len(rows)] and rows[-1].stop == len(reference)
        assert all(row.state is ChunkState.DONE and row.attempts == 1 and len(row.checksum or "") == 64
                   and (row.output or "").endswith(f"chunk-{row.number:05d}.mkv") for row in rows)
    assert not (outbox / ".stsr-chunks" / f"job-{jobs['first.mkv'].id}").exists()  # removed after the join
    log = (outbox / LOG_NAME).read_text(encoding="utf-8")
    # Across files: the second file was planned (its chunks queued) before the first one was joined.
    assert log.index("started second.mkv") < log.index("done first.mkv"), log


def test_a_watch_worker_that_dies_is_retried_by_ray_without_duplicating_frames(
        make_clip: Callable[..., Path], flow_workers: list[object], tmp_path: Path) -> None:
    from stsr.plugin.cluster.coordinator import ClusterOptions
    from stsr.plugin.cluster.render import load_record
    from stsr.plugin.watch.journal import ChunkState
    from stsr.plugin.watch.service import WatchService, WatchSettings

    clip = make_clip("crash.mkv", frames=24)
    reference = single_process(clip, "cadence")
    inbox, outbox = watch_folders(tmp_path)
    (inbox / clip.name).write_bytes(clip.read_bytes())
    chunk_root = tmp_path / "shared"
    settings = WatchSettings(inbox, outbox, options("cadence"), settle=WATCH_SETTLE, once=True,
                             cluster=ClusterOptions(chunk_frames=10, chunk_dir=chunk_root, keep_chunks=True,
                                                    crash_chunk=1))
    assert WatchService(settings, actors=flow_workers).run() == 0
    assert frame_hashes(outbox / "crash.stsr60.mkv") == reference
    jobs, chunks = journal_rows(outbox)
    folder = chunk_root / f"job-{jobs['crash.mkv'].id}"  # type: ignore[attr-defined]
    assert (folder / ".crashed-00001").exists()  # the worker really died once, mid-chunk
    renders = Counter(line.split()[0] for line in (folder / "renders.log").read_text().splitlines())
    assert not list(folder.glob("*.tmp.*"))
    rows = chunks[jobs["crash.mkv"].id]  # type: ignore[attr-defined]
    # The crashed chunk renders twice. Ray's retries are at least once: a chunk the dying worker had
    # just finished, its reply still in flight, may render once more (seen under load); its file is
    # replaced whole with the same bytes, and the output holds every frame once (the hashes above).
    assert renders["1"] == 2 and all(1 <= renders[str(row.number)] <= 2 for row in rows)
    assert set(renders) == {str(row.number) for row in rows}
    assert all(row.state is ChunkState.DONE for row in rows)
    assert rows[1].attempts == 1  # Ray retried it on the restarted actor: one hand-out by the coordinator
    assert rows[1].checksum == (load_record(folder, 1) or {}).get("sha256")


def test_a_killed_watch_coordinator_restarts_without_rendering_finished_chunks(
        make_clip: Callable[..., Path], ray_session: object, flow_workers: list[object], tmp_path: Path) -> None:
    from stsr.plugin.watch.journal import ChunkState, JobState

    clip = make_clip("long.mkv", frames=48)
    reference = single_process(clip, "pairs")
    inbox, outbox = watch_folders(tmp_path)
    (inbox / clip.name).write_bytes(clip.read_bytes())
    address = ray_session.get_runtime_context().gcs_address  # type: ignore[attr-defined]
    command = [sys.executable, "-m", "stsr.plugin.cli", "watch", str(inbox), str(outbox), "--settle",
               str(WATCH_SETTLE), "--backend", "flow", "--device", "cpu", "--codec", "ffv1", "--schedule", "pairs",
               "--cluster", address, "--workers", "1", "--worker-threads", "1", "--chunk-frames", "5",
               "--keep-chunks"]
    folder = outbox / ".stsr-chunks" / "job-1"
    finished = kill_after_first_chunk(command, folder)

    status = run_stsr("watch", "--status", str(outbox))
    assert status.returncode == 0 and "running      long.mkv" in status.stdout, status.stdout + status.stderr
    assert re.search(r"chunks \d+/24 done", status.stdout), status.stdout
    second = subprocess.run([*command, "--once"], cwd=REPO, capture_output=True, text=True, timeout=300,
                            check=False)
    assert second.returncode == 0, second.stderr
    assert "resuming long.mkv (was running)" in second.stderr
    assert f"{len(finished)} already done" in second.stderr
    renders = Counter(int(line.split()[0]) for line in (folder / "renders.log").read_text().splitlines())
    assert all(renders[number] == 1 for number in finished)
    assert set(renders) == set(range(24))
    assert frame_hashes(outbox / "long.stsr60.mkv") == reference
    jobs, chunks = journal_rows(outbox)
    assert jobs["long.mkv"].state is JobState.DONE  # type: ignore[attr-defined]
    rows = chunks[jobs["long.mkv"].id]  # type: ignore[attr-defined]
    assert len(rows) == 24 and all(row.state is ChunkState.DONE and row.checksum for row in rows)
    assert all(row.attempts == 1 for row in rows if row.number in finished)  # handed out once, never again


def test_without_ray_the_watch_folder_converts_in_process(make_clip: Callable[..., Path], tmp_path: Path) -> None:
    clip = make_clip("noray.mkv", frames=24)
    reference = single_process(clip, "cadence")
    blocker = ray_blocker(tmp_path)
    inbox, outbox = watch_folders(tmp_path)
    (inbox / clip.name).write_bytes(clip.read_bytes())
    result = run_stsr("watch", str(inbox), str(outbox), "--once", "--settle", str(WATCH_SETTLE), "--backend", "flow",
                      "--device", "cpu", "--codec", "ffv1", "--workers", "2",
                      env={**os.environ, "PYTHONPATH": str(blocker)})
    assert result.returncode == 0, result.stderr
    assert "converting in this process" in result.stderr
    assert frame_hashes(outbox / "noray.stsr60.mkv") == reference
    jobs, chunks = journal_rows(outbox)
    assert chunks[jobs["noray.mkv"].id] == []  # type: ignore[attr-defined]
    assert not (outbox / ".stsr-chunks").exists()
