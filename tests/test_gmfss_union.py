"""The gmfss_union and rife backends on the real weights: endpoints, identity, shifts, anime poses.

Frames are small (61x97 to 256x384) so the suite stays fast on two CPU cores. The
anime-like pair is written to tests/artifacts/ for looking at.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from stsr import weights
from stsr.errors import InputError, WeightsError
from stsr.interpolators import create_backend
from stsr.interpolators.gmfss_union import GMFSSUnionInterpolator
from stsr.interpolators.rife import RIFEInterpolator
from stsr.plugin.cli import main as stsr

pytestmark = pytest.mark.weights
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
OUTLINE = (25, 20, 30)  # BGR, like the ink lines of a cel


@pytest.fixture(scope="session")
def real_weights() -> Path:
    return weights.fetch(quiet=True)


@pytest.fixture(scope="module")
def gmfss(real_weights: Path) -> GMFSSUnionInterpolator:
    backend = create_backend("gmfss_union", device="cpu", exact_endpoints=False)
    assert isinstance(backend, GMFSSUnionInterpolator)
    return backend


@pytest.fixture(scope="module")
def rife(real_weights: Path) -> RIFEInterpolator:
    backend = create_backend("rife", device="cpu", exact_endpoints=False)
    assert isinstance(backend, RIFEInterpolator)
    return backend


# --------------------------------------------------------------------------- images


def psnr(a: torch.Tensor, b: torch.Tensor, margin: int = 0) -> float:
    if margin:
        a, b = a[..., margin:-margin, margin:-margin], b[..., margin:-margin, margin:-margin]
    mse = (a.float() - b.float()).square().mean().item()
    return math.inf if mse == 0 else 10 * math.log10(1.0 / mse)


def texture(height: int, width: int, sigma: float = 4.0, seed: int = 0) -> np.ndarray:
    """Smooth random colour texture in [0, 1], (H, W, 3) float32."""
    noise = np.random.default_rng(seed).random((height, width, 3)).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), sigma)
    return (smooth - smooth.min()) / (smooth.max() - smooth.min())


def to_tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).contiguous()


def shifted_views(
    height: int, width: int, shift: int, sigma: float = 4.0, offset: int | None = None
) -> tuple[torch.Tensor, ...]:
    """(frame0, frame1, truth): one texture whose content moves right by ``shift`` pixels.

    The truth is the crop at ``offset`` (default: halfway).
    """
    big = texture(height, width + shift, sigma)
    crop = lambda x: to_tensor(big[:, x : x + width])  # noqa: E731
    return crop(shift), crop(0), crop(shift // 2 if offset is None else offset)


def draw_anime(height: int, width: int, character_x: float, ball: tuple[float, float]) -> np.ndarray:
    """A flat-shaded cel: gradient sky, ground, a house, a character and a ball, all with dark outlines (BGR)."""
    image = np.zeros((height, width, 3), np.uint8)
    horizon = int(height * 0.68)
    ramp = np.linspace(0, 1, horizon)[:, None]
    image[:horizon] = (np.array([250, 220, 170]) * (1 - ramp) + np.array([255, 245, 235]) * ramp)[:, None, :]
    image[horizon:] = (90, 170, 110)
    cv2.line(image, (0, horizon), (width, horizon), OUTLINE, 2, cv2.LINE_AA)
    cv2.rectangle(image, (20, horizon - 70), (90, horizon), (120, 160, 230), -1)
    cv2.rectangle(image, (20, horizon - 70), (90, horizon), OUTLINE, 2, cv2.LINE_AA)
    roof = np.array([[14, horizon - 70], [96, horizon - 70], [55, horizon - 105]])
    cv2.fillPoly(image, [roof], (60, 60, 180))
    cv2.polylines(image, [roof], True, OUTLINE, 2, cv2.LINE_AA)
    x, top = round(character_x), horizon - 110
    cv2.ellipse(image, (x, top + 70), (26, 40), 0, 0, 360, (200, 90, 60), -1, cv2.LINE_AA)
    cv2.ellipse(image, (x, top + 70), (26, 40), 0, 0, 360, OUTLINE, 2, cv2.LINE_AA)
    cv2.circle(image, (x, top + 18), 20, (190, 215, 250), -1, cv2.LINE_AA)
    cv2.circle(image, (x, top + 18), 20, OUTLINE, 2, cv2.LINE_AA)
    cv2.circle(image, (x + 7, top + 14), 3, OUTLINE, -1, cv2.LINE_AA)
    centre = (round(ball[0]), round(ball[1]))
    cv2.circle(image, centre, 14, (40, 200, 250), -1, cv2.LINE_AA)
    cv2.circle(image, centre, 14, OUTLINE, 2, cv2.LINE_AA)
    return image


def bgr_to_tensor(image: np.ndarray) -> torch.Tensor:
    return to_tensor(cv2.cvtColor(image, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0)


def save(name: str, frame: torch.Tensor | np.ndarray) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    if isinstance(frame, torch.Tensor):
        rgb = (frame.clamp(0, 1).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        frame = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    cv2.imwrite(str(ARTIFACTS / name), frame)


Backend = GMFSSUnionInterpolator | RIFEInterpolator


def both(test: Callable[..., None]) -> Callable[..., None]:
    return pytest.mark.parametrize("name", ["gmfss", "rife"])(test)


# --------------------------------------------------------------------------- behaviour


@both
def test_endpoints_reproduce_the_inputs(name: str, request: pytest.FixtureRequest) -> None:
    backend: Backend = request.getfixturevalue(name)
    frame0, frame1, _ = shifted_views(192, 256, 8)
    out0, out1 = backend.prepare(frame0, frame1).frames_at([0.0, 1.0])  # through the network
    assert psnr(out0, frame0, 16) > 30
    assert psnr(out1, frame1, 16) > 30
    backend.exact_endpoints = True
    try:
        exact0, half, exact1 = backend.prepare(frame0, frame1).frames_at([Fraction(0), Fraction(1, 2), 1])
    finally:
        backend.exact_endpoints = False
    assert torch.equal(exact0, frame0) and torch.equal(exact1, frame1)
    assert psnr(half, frame0, 16) < 40  # the middle is not an endpoint


@both
def test_identical_inputs_give_the_image_back(name: str, request: pytest.FixtureRequest) -> None:
    backend: Backend = request.getfixturevalue(name)
    frame = to_tensor(texture(192, 256, seed=3))
    out = backend.prepare(frame, frame).frame_at(0.5)
    assert psnr(out, frame, 8) > 35


@both
def test_eight_pixel_shift_lands_halfway(name: str, request: pytest.FixtureRequest) -> None:
    backend: Backend = request.getfixturevalue(name)
    frame0, frame1, middle = shifted_views(192, 256, 8)
    quarter = shifted_views(192, 256, 8, offset=6)[2]  # content 2 px along its way
    out, out_quarter = backend.prepare(frame0, frame1).frames_at([0.5, 0.25])
    assert psnr(out, middle, 16) > 30
    assert psnr(out, middle, 16) > psnr(frame0, middle, 16) + 10
    assert psnr(out_quarter, quarter, 16) > 30
    assert psnr(out_quarter, quarter, 16) > psnr(out_quarter, middle, 16) + 5


@both
def test_odd_sizes_keep_shape_dtype_and_range(name: str, request: pytest.FixtureRequest) -> None:
    backend: Backend = request.getfixturevalue(name)
    frame0, frame1, _ = shifted_views(61, 97, 4, sigma=3.0)
    frames = backend.prepare(frame0, frame1).frames_at([0.25, 0.5, Fraction(3, 4)])
    assert len(frames) == 3
    for frame in frames:
        assert frame.shape == (3, 61, 97)
        assert frame.dtype == torch.float32
        assert frame.device.type == "cpu"
        assert torch.isfinite(frame).all()
        assert frame.min() >= 0 and frame.max() <= 1
    frames[0].mul_(0.5)  # ordinary tensors: callers may modify them in place


@both
def test_batched_timesteps_equal_single_calls(name: str, request: pytest.FixtureRequest) -> None:
    backend: Backend = request.getfixturevalue(name)
    frame0, frame1, _ = shifted_views(64, 128, 6)
    pair = backend.prepare(frame0, frame1)
    batched = pair.frames_at([0.7, 0.2, 0.5])
    for t, frame in zip((0.7, 0.2, 0.5), batched, strict=True):
        torch.testing.assert_close(frame, pair.frame_at(t), rtol=0, atol=2e-4)
    assert psnr(batched[0], batched[1]) < 40  # different times are different frames


def test_gmflow_gives_both_directions_in_one_pass(gmfss: GMFSSUnionInterpolator) -> None:
    frame0, frame1, _ = shifted_views(256, 448, 8)
    net = gmfss.net
    with torch.inference_mode():
        features0 = net.encode_frame(frame0[None])
        features1 = net.encode_frame(frame1[None])
        flow01, flow10 = net.flownet.flows(features0.flow_features, features1.flow_features)
        swapped10, swapped01 = net.flownet.flows(features1.flow_features, features0.flow_features)
    inner = (slice(None), slice(None), slice(8, -8), slice(8, -8))
    # GMFlow sees the half-size frame: 8 px become 4.
    assert flow01[inner][:, 0].median().item() == pytest.approx(4.0, abs=0.25)
    assert flow10[inner][:, 0].median().item() == pytest.approx(-4.0, abs=0.25)
    assert flow01[inner][:, 1].abs().median().item() < 0.25
    torch.testing.assert_close(flow01, swapped01, rtol=0, atol=1e-3)
    torch.testing.assert_close(flow10, swapped10, rtol=0, atol=1e-3)


def test_frame_features_are_cached_across_pairs(gmfss: GMFSSUnionInterpolator, monkeypatch: pytest.MonkeyPatch) -> None:
    frames = [to_tensor(texture(64, 128, seed=seed)) for seed in range(4)]
    encoded: list[tuple[int, ...]] = []
    original = gmfss.net.encode_frame

    def counting(image: torch.Tensor):  # type: ignore[no-untyped-def]
        encoded.append(tuple(image.shape))
        return original(image)

    monkeypatch.setattr(gmfss.net, "encode_frame", counting)
    for first, second in itertools.pairwise(frames):
        gmfss.prepare(first, second).frame_at(0.5)
    assert len(encoded) == len(frames)  # 3 pairs, 4 frames: each frame encoded once
    frames[2].mul_(0.9)  # modified in place: must not be served from the cache
    gmfss.prepare(frames[2], frames[3])
    assert len(encoded) == len(frames) + 1


@both
def test_anime_pair_lands_on_the_middle_pose(name: str, request: pytest.FixtureRequest) -> None:
    backend: Backend = request.getfixturevalue(name)
    height, width = 256, 384
    # The character walks 24 px right while the ball drops diagonally by (-10, 8): different motions.
    images = [draw_anime(height, width, 170 + 24 * t, (300 - 10 * t, 60 + 8 * t)) for t in (0.0, 0.5, 1.0)]
    frame0, truth, frame1 = (bgr_to_tensor(image) for image in images)
    out = backend.prepare(frame0, frame1).frame_at(0.5)
    save("anime_0.png", images[0])
    save("anime_1.png", images[2])
    save("anime_mid_truth.png", images[1])
    save(f"anime_mid_{backend.name}.png", out)
    score = psnr(out, truth, 8)
    assert score > psnr(frame0, truth, 8) + 8
    assert score > psnr(frame1, truth, 8) + 8
    # The character's box: the in-between must be closer to the true pose than either input pose is.
    box = (slice(None), slice(60, 180), slice(130, 230))
    assert psnr(out[box], truth[box]) > max(psnr(frame0[box], truth[box]), psnr(frame1[box], truth[box])) + 8


def test_flow_scale_and_model_options(real_weights: Path) -> None:
    backend = create_backend("gmfss_union", device="cpu", model="wgan", scale=0.5)
    assert "wgan" in backend.describe() and "0.5" in backend.describe()
    frame0, frame1, middle = shifted_views(256, 384, 8, sigma=6.0)
    out = backend.prepare(frame0, frame1).frame_at(0.5)
    assert psnr(out, middle, 16) > 28


def test_bad_inputs_and_options_are_user_errors(gmfss: GMFSSUnionInterpolator, tmp_path: Path) -> None:
    frame = torch.rand(3, 64, 64)
    with pytest.raises(InputError, match="differ in size"):
        gmfss.prepare(frame, torch.rand(3, 64, 65))
    with pytest.raises(InputError, match=r"\(3, H, W\)"):
        gmfss.prepare(frame[:1], frame[:1])
    with pytest.raises(InputError, match="outside"):
        gmfss.prepare(frame, frame).frames_at([1.5])
    with pytest.raises(InputError, match="model"):
        create_backend("gmfss_union", model="lsgan")
    with pytest.raises(InputError, match="scale"):
        create_backend("gmfss_union", scale=2.0)
    with pytest.raises(WeightsError, match=r"flownet\.pkl is missing"):
        create_backend("gmfss_union", weights_dir=str(tmp_path))


def test_interpolate_command_writes_the_middle(real_weights: Path, tmp_path: Path) -> None:
    images = [draw_anime(128, 192, 80 + 16 * t, (150, 40)) for t in (0.0, 1.0)]
    paths = [tmp_path / "a.png", tmp_path / "b.png"]
    for path, image in zip(paths, images, strict=True):
        cv2.imwrite(str(path), image)
    out = tmp_path / "mid.png"
    code = stsr(["interpolate", str(paths[0]), str(paths[1]), "--t", "1/2", "--out", str(out),
                 "--backend", "rife", "--device", "cpu"])
    assert code == 0
    written = cv2.imread(str(out))
    truth = draw_anime(128, 192, 88, (150, 40))
    assert written.shape == truth.shape
    before = psnr(bgr_to_tensor(images[0]), bgr_to_tensor(truth), 4)
    assert psnr(bgr_to_tensor(written), bgr_to_tensor(truth), 4) > before + 8
    assert stsr(["interpolate", str(paths[0]), str(tmp_path / "missing.png"), "--out", str(out)]) == 2



def test_fp16_export_is_small_and_gives_the_same_frames(real_weights: Path, rife: RIFEInterpolator,
                                                        tmp_path: Path) -> None:
    folder = tmp_path / "fp16"
    assert stsr(["weights", "export-fp16", str(folder)]) == 0
    files = sorted(folder.iterdir())
    assert [path.name for path in files] == ["flownet.pkl", "fusionnet.pkl", "metric.pkl", "rife.pkl"]
    assert sum(path.stat().st_size for path in files) < 40e6  # the GPU check carries it
    state = torch.load(folder / "rife.pkl", weights_only=True)
    assert {value.dtype for value in state.values()} == {torch.float16}
    half = create_backend("rife", device="cpu", weights_dir=str(folder), exact_endpoints=False)
    frame0, frame1, _ = shifted_views(64, 128, 6)
    expected = rife.prepare(frame0, frame1).frame_at(0.5)
    assert psnr(half.prepare(frame0, frame1).frame_at(0.5), expected) > 45


def test_compile_falls_back_to_eager_when_compilation_fails(real_weights: Path, rife: RIFEInterpolator,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_compile(fn, **options):  # type: ignore[no-untyped-def]
        def run(*args, **kwargs):  # type: ignore[no-untyped-def]
            raise RuntimeError("no C++ compiler")

        return run

    monkeypatch.setattr(torch, "compile", broken_compile)
    backend = create_backend("rife", device="cpu", compile="default", exact_endpoints=False)
    assert "torch.compile default" in backend.describe()
    frame0, frame1, _ = shifted_views(64, 128, 6)
    out = backend.prepare(frame0, frame1).frame_at(0.5)
    torch.testing.assert_close(out, rife.prepare(frame0, frame1).frame_at(0.5), rtol=0, atol=0)
    with pytest.raises(InputError, match="compile"):
        create_backend("rife", compile="fastest")
