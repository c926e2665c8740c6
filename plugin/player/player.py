"""``stsr play``: mpv (through libmpv) plays the smoothed video, made live, with the source's audio.

mpv opens ``stsr://play``, a YUV4MPEG2 stream served by :class:`~.stream.Y4MFrameStream`
at the output rate, and takes the audio and subtitle tracks straight from the
source file (``audio-file`` / ``sub-file``), so they stay in sync by timestamp: output
frame ``j`` has mpv time ``j / rate``, which is source time ``origin + j / rate``.

ASS subtitles need the fonts attached to the source, but mpv loads the attachments of its
main file only (here: the stream). They are extracted to a temporary folder that mpv
reads fonts from (``sub-fonts-dir``; before mpv 0.36, ``<config-dir>/fonts``), removed
when the player closes. ``alang``/``slang`` choose among the source's tracks as in mpv.

mpv is told to read only a frame or two ahead (``cache=no``, no demuxer read-ahead,
``video-latency-hacks``); the frames made ahead live in our own buffer, where a toggle
can still replace them. That is what makes the toggle take effect on the next frame.

The real-time policy (:class:`~.policy.RealTimePolicy`, a pure object) is sampled by a
monitor thread: when making a frame takes too long for the output rate, or the buffer
runs low, it steps down (lower processing size, then a faster backend, then the source
frames) and the player says so on the OSD; after a while with headroom it steps back up.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import math
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import torch

from stsr.device import resolve_device
from stsr.engine import DEFAULT_RATE, silence_library_logs
from stsr.errors import InputError, StsrError
from stsr.interpolators import Interpolator, create_backend
from stsr.interpolators.adapters import HoldInterpolator, ScaledInterpolator
from stsr.interpolators.registry import default_backend_name
from stsr.io.attachments import extract_attachments
from stsr.io.video import probe, processing_size
from stsr.io.y4m import Y4MHeader
from stsr.schedules import SCHEDULES

from .frames import SOURCE, FrameProducer, Level, SourceFrames, Timeline
from .mpv_stream import register_fast_stream_protocol
from .policy import Decision, Measurements, RealTimePolicy, Reason
from .stream import Y4MFrameStream

log = logging.getLogger(__name__)

#: backends from slowest (best) to fastest; a step down may move right
SPEED_ORDER = ("gmfss_union", "rife", "flow")
#: processing heights tried when stepping down
STEP_HEIGHTS = (1080, 720, 540, 360, 270)
DEFAULT_TOGGLE_KEY = "b"
#: pairs keeps up in real time on a CPU; cadence (convert's default) costs about twice as much per frame
DEFAULT_PLAY_SCHEDULE = "pairs"
DEFAULT_STATUS_KEY = "B"
PROTOCOL = "stsr"
#: the libmpv client API version of mpv 0.36, the first with ``sub-fonts-dir``
SUB_FONTS_DIR_API = (2, 1)


class PlayerError(StsrError):
    """libmpv missing, no display, or mpv could not play: one line for the user."""


@dataclass
class PlayOptions:
    """Everything ``stsr play`` can be told."""

    backend: str = "auto"
    backend_options: dict[str, Any] = field(default_factory=dict)
    height: int | None = None
    fps: Fraction | None = None
    device: str = "auto"
    start: float = 0.0
    schedule: str = DEFAULT_PLAY_SCHEDULE
    scene_detect: bool = True
    #: extra mpv options, applied last (they win)
    mpv_options: list[tuple[str, str]] = field(default_factory=list)
    toggle_key: str = DEFAULT_TOGGLE_KEY
    status_key: str = DEFAULT_STATUS_KEY
    #: step down/up with the machine's speed
    adaptive: bool = True
    #: how far ahead of mpv frames are made (seconds of output)
    buffer_seconds: float = 0.75
    #: smoothing on when playback starts
    smoothing: bool = True
    #: preferred audio / subtitle languages, mpv's ``alang`` / ``slang`` (e.g. "jpn,ja" / "eng,en")
    audio_languages: str | None = None
    subtitle_languages: str | None = None


@dataclass
class LevelChange:
    """One step of the real-time policy, for the log, the OSD and the benchmark."""

    at: float
    frame: int
    old: str
    new: str
    reason: Reason
    #: the figure behind the reason, e.g. "buffer 1 frames" or "21.3 ms per frame > 16.7"
    detail: str = ""

    @property
    def step_down(self) -> bool:
        return self.reason.step_down


@dataclass
class PlayResult:
    """What happened during playback (tests and the benchmark read it)."""

    frames_produced: int
    frames_late: int
    seconds: float
    stream_size: tuple[int, int]
    rate: Fraction
    changes: list[LevelChange]
    toggles: list[tuple[int, int, bool]]
    mpv_dropped: int
    mpv_delayed: int
    busy_ms_per_frame: float
    busy_seconds: float
    cpu_seconds: float
    produced_at_level: dict[str, int]
    #: output indices of late frames (the first few hundred)
    late_indices: list[int] = field(default_factory=list)

    @property
    def step_downs(self) -> int:
        return sum(1 for change in self.changes if change.step_down)


def default_height(device: str, backend: str, source_height: int) -> int:
    """Processing height from the device: 540 on a CPU, 720 (gmfss_union) or 1080 on CUDA; never above the source."""
    height = (720 if backend == "gmfss_union" else 1080) if device.startswith("cuda") else 540
    return min(height, source_height)


def parse_mpv_options(pairs: list[str]) -> list[tuple[str, str]]:
    """``KEY=VALUE`` (or a bare ``KEY`` meaning yes) from ``--mpv``; one clear line for anything else."""
    options = []
    for item in pairs:
        key, separator, value = item.partition("=")
        key = key.strip().lstrip("-")
        if not key or any(c.isspace() for c in key):
            raise InputError(f"--mpv {item!r}: expected KEY=VALUE, e.g. --mpv vo=null")
        options.append((key, value if separator else "yes"))
    return options


def _import_mpv() -> Any:
    try:
        import mpv
    except (OSError, ImportError) as error:
        text = str(error).split(".")[0]
        raise PlayerError(f"libmpv is not available ({text}); install it, e.g. sudo apt-get install libmpv2") from None
    return mpv


def _describe_option_error(error: BaseException) -> str:
    """python-mpv's option errors carry (message, code, (handle, name, value))."""
    args = getattr(error, "args", ())
    if len(args) >= 3 and isinstance(args[2], tuple) and len(args[2]) >= 3:
        name, value = (item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item)
                       for item in args[2][1:3])
        return f"mpv option {name}={value}: {args[0]}"
    return f"mpv rejected an option ({error})"


class Player:
    """One playback session: engine + buffer + mpv window; :meth:`run` blocks until mpv quits."""

    def __init__(self, source: str | os.PathLike[str], options: PlayOptions | None = None,
                 on_mpv: Callable[[Any], None] | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        """``clock`` (seconds) times the policy, the head start and the producer's costs; tests pass a fake one."""
        self.options = options = options or PlayOptions()
        self._clock = clock
        self.source = Path(source)
        self._on_mpv = on_mpv
        if options.schedule not in SCHEDULES:
            raise InputError(f"unknown mode {options.schedule!r} (choose from {', '.join(SCHEDULES)})")
        self.mpv_options = dict(options.mpv_options)
        self.encoding = bool(self.mpv_options.get("o"))
        info = probe(self.source)
        self.info = info
        try:
            self.device = resolve_device(options.device)
        except ValueError as error:
            raise InputError(str(error)) from None
        if options.backend == "auto":
            # On a CPU only the weight-free flow keeps up with real time; on CUDA the best installed model.
            backend = default_backend_name() if self.device.type == "cuda" else "flow"
        else:
            backend = options.backend
        self.backend = backend
        height = options.height or default_height(self.device.type, backend, info.height)
        if height < 16:
            raise InputError(f"--height {height}: too small")
        self._torch_threads = torch.get_num_threads()
        self.width, self.height = processing_size(info.width, info.height, min(height, info.height))
        self.rate = options.fps or DEFAULT_RATE
        self._interpolators: dict[Level, Interpolator] = {}
        self._backends: dict[str, Interpolator] = {}
        self.levels = self._build_levels()
        self._check_display()
        self._mpv_module = _import_mpv()
        self.sources = SourceFrames(self.source, self.height, options.scene_detect, info.frame_rate,
                                    keep=math.ceil(options.buffer_seconds * float(info.frame_rate)) + 24)
        try:
            first_time = self.sources.first_time_or_none()
            if first_time is None:
                raise InputError(f"{self.source}: no video frames")
            duration = info.duration or (Fraction(info.frame_count) / info.frame_rate if info.frame_count else None)
            if not duration:
                raise InputError(f"{self.source}: unknown duration; cannot play it as a stream")
        except BaseException:
            self.sources.close()
            raise
        self.origin = min(Fraction(0), first_time)
        end = first_time + duration
        count = max(1, math.ceil((end - self.origin) * self.rate))
        self.timeline = Timeline(self.origin, self.rate, count)
        self.header = Y4MHeader(self.width, self.height, self.rate)
        self._level_index = 0
        self.smoothing = options.smoothing
        capacity = max(4, math.ceil(options.buffer_seconds * float(self.rate)))
        self.producer = FrameProducer(self.sources, self.timeline, (self.width, self.height), self._interpolator_for,
                                      self._current_level(), options.schedule, capacity,
                                      count_late=not self.encoding, clock=clock)
        self.changes: list[LevelChange] = []
        self.toggles: list[tuple[int, int, bool]] = []
        self._status_overlay = False
        self._stop = threading.Event()
        self._end_error: str | None = None
        self._mpv_errors: list[str] = []
        #: latest values of observed mpv properties: reading them synchronously could wait behind a frame read
        self._observed: dict[str, Any] = {}
        self._started = 0.0
        self.policy = RealTimePolicy(len(self.levels), self.rate, started=clock())
        #: the least severe mpv log messages passed to :meth:`_on_mpv_log` (only errors are kept)
        self.mpv_log_level = "error"
        #: the temporary folder with the source's attachments (fonts) while mpv plays; None if there are none
        self.fonts_folder: Path | None = None
        self.mpv: Any = None

    # -- set-up ----------------------------------------------------------------------------------

    def _check_display(self) -> None:
        vo = self.mpv_options.get("vo", "gpu")
        if self.encoding or vo in ("null", "image", "tct", "caca", "drm", "libmpv"):
            return
        if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            raise PlayerError("no display (DISPLAY/WAYLAND_DISPLAY unset); "
                              "for headless use --mpv vo=null --mpv ao=null")

    def _backend(self, name: str) -> Interpolator:
        if name not in self._backends:
            options = dict(self.options.backend_options) if name == self.backend else {}
            if name == "flow":
                options.setdefault("preset", "fast")
            self._backends[name] = create_backend(name, device=self.device, **options)
        return self._backends[name]

    def _build_levels(self) -> list[Level]:
        """The step-down ladder: lower heights, then faster backends, then the source frames."""
        self._backend(self.backend)  # fails here (one line) if the chosen backend cannot run
        heights = [self.height, *[h for h in STEP_HEIGHTS if h < self.height][:2]]
        levels = [Level(self.backend, h) for h in heights]
        if self.backend in SPEED_ORDER:
            for faster in SPEED_ORDER[SPEED_ORDER.index(self.backend) + 1:]:
                try:
                    self._backend(faster)
                except StsrError as error:
                    log.info("step-down backend %s unavailable: %s", faster, error)
                    continue
                levels += [Level(faster, h) for h in heights[1:] or heights]
        return [*levels, Level(SOURCE, self.height)]

    def _interpolator_for(self, level: Level) -> Interpolator:
        """The interpolator for ``level`` (called by the producer as each run starts)."""
        if self.device.type == "cpu":
            # The flow and source levels' heavy work is OpenCV; torch only converts frames. Its OpenMP workers,
            # spinning between those small ops, starve the decoder and mpv on a 2-core machine (measured: 20 ms
            # for a 160x90 conversion with 2 threads, 0.5 ms with 1). Models keep all threads.
            torch.set_num_threads(1 if level.backend in ("flow", SOURCE) else self._torch_threads)
        if level not in self._interpolators:
            if not level.smooth:
                interpolator: Interpolator = HoldInterpolator(self.device)
            elif level.backend == "flow":
                # Flow at half the processing height: DIS cost grows with pixels; anime motion is smooth.
                options = {"preset": "fast", "flow_height": max(90, level.height // 2),
                           **(self.options.backend_options if self.backend == "flow" else {})}
                interpolator = create_backend("flow", device=self.device, **options)
            else:
                interpolator = self._backend(level.backend)
            if level.smooth and level.height < self.height:
                interpolator = ScaledInterpolator(interpolator, level.height)
            self._interpolators[level] = interpolator
        return self._interpolators[level]

    def _current_level(self) -> Level:
        return self.levels[self._level_index] if self.smoothing else Level(SOURCE, self.height)

    def _mpv_settings(self) -> dict[str, str]:
        settings = {
            "vo": "gpu",
            "input-default-bindings": "yes",
            "input-vo-keyboard": "yes",
            "osc": "yes",
            "keep-open": "no" if self.encoding else "yes",
            "force-media-title": self.source.name,
            "demuxer-lavf-format": "yuv4mpegpipe",
            # Read a frame or two ahead only: our own buffer holds the rest, where a toggle can still change it.
            "cache": "no",
            "demuxer-readahead-secs": "0",
            "stream-buffer-size": "4KiB",
            "video-latency-hacks": "yes",
            "demuxer-thread": "no",
            "hr-seek": "yes",
            # Audio and subtitles come from the source with their own timestamps.
            "rebase-start-time": "no",
            # The frames are BT.601 limited range whatever their size (mpv would guess BT.709 for HD).
            "vf": "format=colormatrix=bt.601:colorlevels=limited",
            "title": f"{self.source.name} - stsr",
        }
        if self.origin:
            settings["audio-delay"] = settings["sub-delay"] = f"{float(-self.origin):.6f}"
        if self.options.start:
            settings["start"] = f"{max(0.0, self.options.start - float(self.origin)):.6f}"
        if self.options.audio_languages:
            settings["alang"] = self.options.audio_languages
        if self.options.subtitle_languages:
            settings["slang"] = self.options.subtitle_languages
        # (a --mpv sub-fonts-dir/config/config-dir of the user's own wins: then they choose the fonts)
        user_chose_fonts = bool({"sub-fonts-dir", "config", "config-dir"} & set(self.mpv_options))
        if self.fonts_folder is not None and not user_chose_fonts:
            if self._client_api() >= SUB_FONTS_DIR_API:
                settings["sub-fonts-dir"] = str(self.fonts_folder)
            else:
                # mpv 0.35 and older read subtitle fonts from ``~~/fonts`` only: make our folder the config folder
                # (it holds nothing else, so no user configuration is read either).
                settings["config"] = "yes"
                settings["config-dir"] = str(self.fonts_folder.parent)
        settings.update(self.mpv_options)
        return settings

    def _client_api(self) -> tuple[int, int]:
        try:
            return tuple(self._mpv_module._mpv_client_api_version())[:2]  # type: ignore[return-value]
        except Exception:  # pragma: no cover - python-mpv without it: assume an old mpv
            return (1, 0)

    def _extract_fonts(self) -> None:
        """Extract the source's attachments for its subtitles (nothing to do without subtitles or attachments)."""
        if not self.info.subtitle_streams or self.fonts_folder is not None:
            return
        folder = Path(tempfile.mkdtemp(prefix="stsr-play-")) / "fonts"
        try:
            written = extract_attachments(self.source, folder)
        except (StsrError, OSError) as error:
            log.warning("could not extract the attached fonts: %s", error)
            written = []
        if written:
            self.fonts_folder = folder
            log.info("%d attachments extracted for the subtitles into %s", len(written), folder)
        else:
            shutil.rmtree(folder.parent, ignore_errors=True)

    def _remove_fonts(self) -> None:
        if self.fonts_folder is not None:
            shutil.rmtree(self.fonts_folder.parent, ignore_errors=True)
            self.fonts_folder = None

    def _create_mpv(self) -> Any:
        mpv = self._mpv_module
        settings = self._mpv_settings()
        problem = None
        try:
            player = mpv.MPV(log_handler=self._on_mpv_log, loglevel=self.mpv_log_level,
                             **{key.replace("-", "_"): value for key, value in settings.items()})
        except (AttributeError, ValueError, TypeError, SystemError) as error:
            problem = _describe_option_error(error)
        if problem is not None:
            gc.collect()  # destroys the half-made mpv handle now, not at interpreter exit
            raise PlayerError(problem)
        try:
            if self.info.audio_streams:
                player.command("change-list", "audio-files", "append", str(self.source))
            if self.info.subtitle_streams:
                player.command("change-list", "sub-files", "append", str(self.source))
        except Exception as error:  # pragma: no cover - very old mpv
            log.warning("could not add the source's audio/subtitles: %s", error)
        return player

    # -- running ---------------------------------------------------------------------------------

    def run(self) -> PlayResult:
        """Play until the user quits (or, when encoding, until the end); then clean up everything."""
        silence_library_logs()
        mpv = self._mpv_module
        start_index = self.timeline.index_at(Fraction(self.options.start).limit_denominator(1000000)) \
            if self.options.start else 0
        try:
            self._extract_fonts()
            self.mpv = player = self._create_mpv()
        except BaseException:
            self.close()
            raise
        self.producer.switch_to(start_index, self._current_level())
        self.producer.start()
        monitor = threading.Thread(target=self._monitor, name="stsr-monitor", daemon=True)
        try:
            register_fast_stream_protocol(player, PROTOCOL,
                                          lambda uri: Y4MFrameStream(self.header, self.producer, self.timeline.count))

            @player.event_callback("end-file")
            def on_end_file(event: Any) -> None:
                data = event.data
                reason = getattr(data, "reason", None)
                if reason == 4:  # MPV_END_FILE_REASON_ERROR
                    self._end_error = str(mpv.ErrorCode.EXCEPTION_DICT.get(data.error, lambda *a: data.error)())
                if reason in (0, 4):  # EOF (only reached without keep-open, i.e. when encoding) or error
                    self._stop.set()

            for name in ("time-pos", "pause", "seeking", "core-idle", "speed", "frame-drop-count",
                         "vo-delayed-frame-count"):
                player.observe_property(name, self._observe)
            player.register_key_binding(self.options.toggle_key, self._key(self.toggle))
            player.register_key_binding(self.options.status_key, self._key(self.toggle_status))
            if self._on_mpv is not None:
                self._on_mpv(player)
            self._started = self._clock()
            self.policy = RealTimePolicy(len(self.levels), self.rate, started=self._started, level=self._level_index)
            monitor.start()
            player.loadfile(f"{PROTOCOL}://play")
            while not self._stop.is_set():
                try:
                    player.wait_for_shutdown(timeout=0.25)
                    break
                except TimeoutError:
                    if self.producer.error is not None:
                        break
        except KeyboardInterrupt:
            pass
        finally:
            self._stop.set()
            with contextlib.suppress(Exception):
                if not player.core_shutdown:
                    player.command("quit")
                    player.wait_for_shutdown(timeout=10)
            result = self._finish(player, monitor)
        error = self.producer.error
        if isinstance(error, StsrError):
            raise error
        if error is not None:
            raise PlayerError(f"frame production failed: {error}")
        if self._end_error is not None:
            detail = "; ".join(self._mpv_errors[-2:]) or self._end_error
            no_output = "video_out" in detail or "GPU" in detail
            hint = " (no usable GPU output? try --mpv vo=x11 or --mpv gpu-sw=yes)" if no_output else ""
            raise PlayerError(f"mpv could not play: {detail}{hint}")
        return result

    def _finish(self, player: Any, monitor: threading.Thread) -> PlayResult:
        dropped = int(self._observed.get("frame-drop-count") or 0)
        delayed = int(self._observed.get("vo-delayed-frame-count") or 0)
        if monitor.is_alive():
            monitor.join(5)  # before terminate: it talks to mpv
            if monitor.is_alive():  # pragma: no cover - a monitor step stuck in mpv
                log.warning("the monitor thread did not stop")
        self.producer.cancel()
        self.producer.stop()
        self.mpv = None
        with contextlib.suppress(Exception):
            player.terminate()
        self._remove_fonts()
        stats = self.producer.stats
        return PlayResult(
            frames_produced=stats.produced, frames_late=stats.late,
            seconds=self._clock() - self._started if self._started else 0.0,
            stream_size=(self.width, self.height), rate=self.rate, changes=list(self.changes),
            toggles=list(self.toggles), mpv_dropped=dropped, mpv_delayed=delayed,
            busy_ms_per_frame=stats.busy_ms_per_frame, busy_seconds=stats.busy_seconds,
            cpu_seconds=stats.cpu_seconds,
            produced_at_level=dict(stats.produced_at_level or {}),
            late_indices=list(stats.late_indices),
        )

    def _on_mpv_log(self, level: str, prefix: str, text: str) -> None:
        """Keep mpv's error lines: the one-line error at the end quotes them."""
        line = text.strip()
        if line and level in ("fatal", "error"):
            self._mpv_errors.append(line)
            del self._mpv_errors[:-10]

    def close(self) -> None:
        """Release the decoder and the fonts folder without playing (a Player that is never run)."""
        self.producer.stop()
        self.sources.close()
        self._remove_fonts()

    def quit(self) -> None:
        self._stop.set()
        if self.mpv is not None:
            with contextlib.suppress(Exception):
                self.mpv.command("quit")

    # -- keys and OSD ----------------------------------------------------------------------------

    @staticmethod
    def _key(action: Callable[[], None]) -> Callable[..., None]:
        def handler(state: str = "p-", *_args: Any) -> None:
            if state and state[0] in ("d", "p"):
                try:
                    action()
                except Exception:
                    log.exception("key handler failed")
        return handler

    def _show(self, text: str, milliseconds: int = 2000) -> None:
        player = self.mpv
        if player is not None:
            # Asynchronous: a key handler runs on mpv's event thread, and a synchronous command there would
            # wait for mpv's core, which may itself be waiting in a stream read for the next frame.
            with contextlib.suppress(Exception):
                player.command_async("show-text", text, str(milliseconds))

    def _observe(self, name: str, value: Any) -> None:
        self._observed[name] = value

    def _presented_index(self) -> int:
        position = self._observed.get("time-pos")
        if position is None:
            return -1
        return math.floor(float(position) * float(self.rate) + 1e-6)

    def toggle(self) -> None:
        """Smoothing on/off from the next frame on (the timeline stays the same)."""
        self.smoothing = not self.smoothing
        presented = self._presented_index()
        first = self.producer.switch(self._current_level(), immediately=True)
        log.debug("toggle: presented %d, read %d, first new frame %d", presented, self.producer.cursor, first)
        self.toggles.append((presented, first, self.smoothing))
        state = f"on ({self._current_level().label()})" if self.smoothing else "off (source frames)"
        self._show(f"stsr smoothing: {state}")

    def toggle_status(self) -> None:
        self._status_overlay = not self._status_overlay
        if self._status_overlay:
            self._show(self.status_text(), 1000)
        else:
            self._show("", 1)

    def status_text(self) -> str:
        stats = self.producer.stats
        budget = 1000 / float(self.rate)
        level = self.producer.level
        interpolator = self._interpolators.get(level)
        lines = [
            f"stsr: smoothing {'on' if self.smoothing else 'off'}",
            f"backend: {interpolator.describe() if interpolator else level.label()}",
            f"device: {self.device}",
            f"processing: {level.height}p (stream {self.width}x{self.height} at {float(self.rate):.3f} fps)",
            f"model: {stats.busy_ms_per_frame:.1f} ms per frame (budget {budget:.1f} ms)",
            f"buffer: {self.producer.buffered()}/{self.producer.capacity} frames",
            f"frames late: {stats.late}, step-downs: {sum(1 for change in self.changes if change.step_down)}",
        ]
        return "\n".join(lines)

    # -- real-time policy ------------------------------------------------------------------------

    def _apply(self, decision: Decision) -> None:
        """Move to the policy's level from the next frame not yet made (the frames made ahead are kept)."""
        old = self.levels[self._level_index]
        self._level_index = decision.level
        new = self.levels[decision.level]
        first = self.producer.switch(new, immediately=False)
        self.changes.append(LevelChange(self._clock() - self._started, first, old.label(), new.label(),
                                        decision.reason, decision.detail))
        log.info("real time: %s -> %s (%s: %s)", old.label(), new.label(), decision.reason.value, decision.detail)
        if decision.step_down:
            self._show(f"stsr: too slow for real time, now {new.label()}")
        else:
            self._show(f"stsr: back to {new.label()}")

    def measurements(self) -> Measurements:
        """What the policy looks at now (from the producer and mpv's observed properties)."""
        observed = self._observed
        playing = self.smoothing and not (observed.get("pause") or observed.get("seeking")
                                          or observed.get("core-idle", True))
        return Measurements(now=self._clock(), playing=bool(playing), buffered=self.producer.buffered(),
                            capacity=self.producer.capacity, cost_ms=self.producer.stats.busy_ms_per_frame,
                            last_jump=self.producer.last_jump, speed=float(observed.get("speed") or 1.0))

    def _policy_step(self) -> None:
        if self.mpv is None or not self.options.adaptive or self.encoding:
            return
        decision = self.policy.step(self.measurements())
        if decision is not None:
            self._apply(decision)

    def _monitor(self) -> None:
        last_status = 0.0
        while not self._stop.wait(0.25):
            try:
                self._policy_step()
                if self._status_overlay and self._clock() - last_status >= 0.5:
                    last_status = self._clock()
                    self._show(self.status_text(), 1000)
                if self.producer.error is not None:
                    self._show(f"stsr: error: {self.producer.error}", 5000)
                    return
            except Exception:
                log.exception("monitor failed")
