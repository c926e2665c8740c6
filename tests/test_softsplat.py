"""The pure-PyTorch forward splatting and backward warps that replace the reference's cupy kernels."""

from __future__ import annotations

import itertools

import pytest
import torch

from stsr.archs.gmfss_union.softsplat import forward_splat, softmax_splat
from stsr.archs.gmfss_union.warp import backward_warp, metric_warp


def _shifted(values: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    """``values`` moved by (dx, dy) pixels with zeros where nothing arrives."""
    out = torch.zeros_like(values)
    height, width = values.shape[-2:]
    src_y = slice(max(0, -dy), min(height, height - dy))
    src_x = slice(max(0, -dx), min(width, width - dx))
    dst_y = slice(max(0, dy), min(height, height + dy))
    dst_x = slice(max(0, dx), min(width, width + dx))
    out[..., dst_y, dst_x] = values[..., src_y, src_x]
    return out


def _naive_splat(values: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Loop-per-pixel bilinear splatting in float64: the definition the fast version must meet."""
    batch, channels, height, width = values.shape
    out = torch.zeros(batch, channels, height, width, dtype=torch.float64)
    for b, y, x in itertools.product(range(batch), range(height), range(width)):
        tx = x + float(flow[b, 0, y, x])
        ty = y + float(flow[b, 1, y, x])
        x0, y0 = int(torch.floor(torch.tensor(tx))), int(torch.floor(torch.tensor(ty)))
        for xi, yi in ((x0, y0), (x0 + 1, y0), (x0, y0 + 1), (x0 + 1, y0 + 1)):
            weight = (1 - abs(tx - xi)) * (1 - abs(ty - yi))
            if 0 <= xi < width and 0 <= yi < height and weight > 0:
                out[b, :, yi, xi] += values[b, :, y, x].double() * weight
    return out


@pytest.mark.parametrize(("dx", "dy"), [(0, 0), (3, 0), (0, -2), (5, 4), (-7, 3)])
def test_integer_shift_is_exact(dx: int, dy: int) -> None:
    torch.manual_seed(0)
    values = torch.rand(2, 5, 16, 20)
    flow = torch.tensor([float(dx), float(dy)]).view(1, 2, 1, 1).expand(2, 2, 16, 20)
    assert torch.equal(forward_splat(values, flow), _shifted(values, dx, dy))
    metric = torch.randn(2, 1, 16, 20) * 3
    soft = softmax_splat(values, flow, metric)
    torch.testing.assert_close(soft, _shifted(values, dx, dy), rtol=0, atol=1e-6)


def test_zero_flow_returns_the_input() -> None:
    torch.manual_seed(1)
    values = torch.rand(3, 7, 11, 13)
    metric = torch.randn(3, 1, 11, 13) * 5
    out = softmax_splat(values, torch.zeros(3, 2, 11, 13), metric)
    torch.testing.assert_close(out, values, rtol=0, atol=1e-6)


def test_matches_a_naive_loop_for_arbitrary_flows() -> None:
    torch.manual_seed(2)
    values = torch.rand(2, 3, 6, 7)
    flow = torch.randn(2, 2, 6, 7) * 2.5
    flow[0, :, 2, 3] = torch.tensor([1.0, -1.0])  # an exact integer among the fractional ones
    expected = _naive_splat(values, flow).float()
    torch.testing.assert_close(forward_splat(values, flow), expected, rtol=1e-5, atol=1e-5)


def test_fractional_shift_conserves_mass_inside_the_image() -> None:
    values = torch.zeros(1, 1, 8, 8)
    values[0, 0, 3, 3] = 1.0
    flow = torch.zeros(1, 2, 8, 8)
    flow[0, :, 3, 3] = torch.tensor([0.25, 0.5])
    out = forward_splat(values, flow)[0, 0]
    assert out[3, 3] == pytest.approx(0.75 * 0.5)
    assert out[3, 4] == pytest.approx(0.25 * 0.5)
    assert out[4, 3] == pytest.approx(0.75 * 0.5)
    assert out[4, 4] == pytest.approx(0.25 * 0.5)
    assert out.sum() == pytest.approx(1.0)


def test_softmax_lets_the_larger_metric_win_a_collision() -> None:
    values = torch.zeros(1, 1, 1, 4)
    values[0, 0, 0, 0], values[0, 0, 0, 2] = 0.2, 0.9
    flow = torch.zeros(1, 2, 1, 4)
    flow[0, 0, 0, 0] = 1.0  # pixel 0 -> 1
    flow[0, 0, 0, 2] = -1.0  # pixel 2 -> 1
    metric = torch.zeros(1, 1, 1, 4)
    metric[0, 0, 0, 2] = 8.0
    out = softmax_splat(values, flow, metric)[0, 0, 0]
    # pixel 1 (value 0, metric 0) stays where it is and joins the collision
    expected = (0.2 + 0.0 + 0.9 * torch.exp(torch.tensor(8.0))) / (2 + torch.exp(torch.tensor(8.0)))
    assert out[1] == pytest.approx(float(expected), abs=1e-6)
    assert out[1] > 0.89
    assert out[0] == 0 and out[2] == 0  # holes stay empty (0), not NaN


def test_out_of_image_and_non_finite_flows_are_dropped() -> None:
    values = torch.ones(1, 2, 5, 5)
    flow = torch.zeros(1, 2, 5, 5)
    flow[0, 0, :, 4] = 1.0  # last column leaves the image
    flow[0, 1, 0, 0] = float("nan")
    flow[0, 0, 1, 1] = float("inf")
    metric = torch.zeros(1, 1, 5, 5)
    out = softmax_splat(values, flow, metric)
    assert torch.isfinite(out).all()
    assert out[0, 0, 0, 0] == 0 and out[0, 0, 1, 1] == 0
    assert forward_splat(values, flow)[0, 0].sum() == pytest.approx(25 - 5 - 2)


def test_huge_metrics_do_not_overflow_and_dtype_is_kept() -> None:
    torch.manual_seed(3)
    values = torch.rand(1, 3, 9, 9).half()
    metric = torch.full((1, 1, 9, 9), 1000.0)
    metric[..., 4, 4] = 1010.0
    out = softmax_splat(values, torch.zeros(1, 2, 9, 9), metric)
    assert out.dtype == torch.float16
    torch.testing.assert_close(out, values, rtol=0, atol=1e-3)


def test_backward_warp_integer_shift_and_metric_warp_stretch() -> None:
    torch.manual_seed(4)
    image = torch.rand(1, 3, 10, 12)
    flow = torch.tensor([2.0, -1.0]).view(1, 2, 1, 1).expand(1, 2, 10, 12)
    warped = backward_warp(image, flow, padding_mode="zeros")
    # out(x, y) = image(x + 2, y - 1)
    torch.testing.assert_close(warped[..., 1:, :10], image[..., :-1, 2:], rtol=0, atol=1e-6)
    assert warped[..., 0, :].abs().max() < 1e-6  # zeros padding (up to grid rounding)
    # MetricNet's warp samples at x + flow * W / (W - 1): a flow of (W - 1) / W pixels moves exactly one.
    unit = torch.tensor([11.0 / 12.0, 0.0]).view(1, 2, 1, 1).expand(1, 2, 10, 12)
    torch.testing.assert_close(metric_warp(image, unit)[..., :11], image[..., 1:], rtol=0, atol=1e-5)
