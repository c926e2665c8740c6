"""RGB <-> YUV conversions straight from float tensors (no 8-bit RGB frame in between)."""

from __future__ import annotations

import cv2
import numpy as np
import torch


def channels_last_array(frame: torch.Tensor) -> np.ndarray:
    """(3, H, W) float CPU tensor -> (H, W, 3) float32 array, without a copy for channels-last memory."""
    tensor = frame.detach().to("cpu", torch.float32)
    interleaved = tensor.permute(1, 2, 0)
    return interleaved.numpy() if interleaved.is_contiguous() else cv2.merge(list(tensor.contiguous().numpy()))


#: luma weights (Kr, Kb) of the matrices FFmpeg tags as 1 (BT.709), 5/6 (BT.601), 9 (BT.2020 NCL)
MATRICES: dict[str, tuple[float, float]] = {"bt709": (0.2126, 0.0722), "bt601": (0.299, 0.114),
                                            "bt2020": (0.2627, 0.0593)}


def limited_range_rows(matrix: str = "bt601") -> tuple[np.ndarray, np.ndarray]:
    """The Y row and the U, V rows (8-bit limited range from RGB in [0, 1], offset column last) for cv2.transform."""
    kr, kb = MATRICES[matrix]
    kg = 1.0 - kr - kb
    luma = np.array([kr, kg, kb])
    blue = (np.array([0.0, 0.0, 1.0]) - luma) / (2 * (1 - kb))
    red = (np.array([1.0, 0.0, 0.0]) - luma) / (2 * (1 - kr))
    to_y = np.array([[*(219 * luma), 16.0]], np.float32)
    to_uv = np.array([[*(224 * blue), 128.0], [*(224 * red), 128.0]], np.float32)
    return to_y, to_uv


#: BT.601 limited range from RGB in [0, 1], with the offset column (cv2.transform)
_TO_Y, _TO_UV = limited_range_rows("bt601")
_ROWS = {name: limited_range_rows(name) for name in MATRICES}


def untagged_matrix(width: int, height: int) -> str:
    """The matrix players assume for untagged YUV of this size (mpv, FFmpeg: HD is BT.709, SD BT.601)."""
    return "bt709" if width >= 1280 or height > 576 else "bt601"


def tensor_to_i420(image: torch.Tensor, matrix: str = "bt601") -> np.ndarray:
    """Float RGB (3, H, W) in [0, 1] -> I420 planes (limited range, ``matrix``), straight from the floats.

    ``matrix`` is ``bt601`` (what players assume for SD), ``bt709`` (HD) or ``bt2020``.

    Skips the uint8 RGB frame in between (``tensor_to_frame`` + ``cvtColor`` cost
    three times as much at 540p). Chroma is taken from 2x2 averages of R, G, B.
    """
    # Channels-last memory (frame_to_tensor's and the flow backend's frames) is used as it is.
    to_y, to_uv = _ROWS[matrix]
    rgb = channels_last_array(image)
    height, width = rgb.shape[:2]
    output = np.empty(height * width * 3 // 2, np.uint8)
    cv2.convertScaleAbs(cv2.transform(rgb, to_y), dst=output[:height * width].reshape(height, width))
    half = (width // 2, height // 2)
    # Exactly half size: bilinear samples fall between 2x2 pixels, i.e. their mean (3x cheaper than INTER_AREA).
    chroma = cv2.transform(cv2.resize(rgb, half, interpolation=cv2.INTER_LINEAR), to_uv)
    size = half[0] * half[1]
    for channel in range(2):
        start = height * width + channel * size
        plane = output[start:start + size].reshape(half[1], half[0])
        cv2.convertScaleAbs(cv2.extractChannel(chroma, channel), dst=plane)
    return output


#: 4:2:0 formats whose full-range samples are remapped here rather than by swscale
FULL_RANGE_FORMATS = {"yuv420p": 8, "yuvj420p": 8, "yuv420p10le": 10}


def full_to_limited10(planes: np.ndarray, bits: int, width: int, height: int) -> np.ndarray:
    """Full-range 4:2:0 samples (the (H*3/2, W) layout of ``to_ndarray``) -> 10-bit limited range, rounded.

    swscale's own full-range RGB <-> YUV paths are off by up to one code value on
    grey (measured in benchmarks/bench_encode.py); its limited-range 10-bit path is
    exact, so full range goes through it with this linear remap on either side.
    """
    flat = planes.reshape(-1).astype(np.float32)
    top = float((1 << bits) - 1)
    luma = width * height
    out = np.empty_like(flat)
    out[:luma] = 64 + flat[:luma] * (876 / top)
    out[luma:] = 512 + (flat[luma:] - (1 << (bits - 1))) * (896 / top)
    return np.clip(np.rint(out), 0, 1023).astype(np.uint16).reshape(planes.shape)


def limited10_to_full(planes: np.ndarray, bits: int, width: int, height: int) -> np.ndarray:
    """10-bit limited-range 4:2:0 samples -> full range at ``bits`` (the inverse of :func:`full_to_limited10`)."""
    flat = planes.reshape(-1).astype(np.float32)
    top = float((1 << bits) - 1)
    luma = width * height
    out = np.empty_like(flat)
    out[:luma] = (flat[:luma] - 64) * (top / 876)
    out[luma:] = (flat[luma:] - 512) * (top / 896) + (1 << (bits - 1))
    dtype = np.uint8 if bits == 8 else np.uint16
    return np.clip(np.rint(out), 0, top).astype(dtype).reshape(planes.shape)


#: swscale/FFmpeg matrix values this module converts itself
MATRIX_NAMES = {1: "bt709", 5: "bt601", 6: "bt601", 9: "bt2020"}
#: pixel formats :func:`rgb_to_yuv420` writes, with their bits
YUV420_FORMATS = {"yuv420p": 8, "yuvj420p": 8, "yuv420p10le": 10}


def yuv_rows(matrix: str, bits: int, full_range: bool) -> tuple[np.ndarray, np.ndarray]:
    """cv2.transform rows (offset column last) from RGB in [0, 1] to Y and to U, V code values at ``bits``."""
    kr, kb = MATRICES[matrix]
    luma = np.array([kr, 1.0 - kr - kb, kb])
    blue = (np.array([0.0, 0.0, 1.0]) - luma) / (2 * (1 - kb))
    red = (np.array([1.0, 0.0, 0.0]) - luma) / (2 * (1 - kr))
    if full_range:
        top = float((1 << bits) - 1)
        luma_scale, luma_offset, chroma_scale, chroma_offset = top, 0.0, top, float(1 << (bits - 1))
    else:
        step = float(1 << (bits - 8))
        luma_scale, luma_offset, chroma_scale, chroma_offset = 219 * step, 16 * step, 224 * step, 128 * step
    to_y = np.array([[*(luma_scale * luma), luma_offset]], np.float32)
    to_uv = np.array([[*(chroma_scale * blue), chroma_offset], [*(chroma_scale * red), chroma_offset]], np.float32)
    return to_y, to_uv


def _quantize(values: np.ndarray, bits: int, out: np.ndarray) -> None:
    if bits == 8:
        cv2.convertScaleAbs(values, dst=out)  # rounds to nearest and saturates
    else:
        np.clip(np.rint(values), 0, (1 << bits) - 1, out=values)
        out[...] = values


def rgb_to_yuv420(rgb: np.ndarray, matrix: str, bits: int, full_range: bool) -> np.ndarray:
    """Float RGB (H, W, 3) in [0, 1] (even sides) -> 4:2:0 planes in ``VideoFrame.from_ndarray``'s layout.

    Returns (H * 3 / 2, W) uint8 for 8 bits or uint16 for 10 bits: Y, then U, then V,
    each rounded to nearest once (no 8-bit RGB step, no swscale rounding bias), with
    chroma from 2x2 means. About 4x faster than swscale's exact-rounding path.
    """
    height, width = rgb.shape[:2]
    rgb = np.ascontiguousarray(rgb, dtype=np.float32)
    to_y, to_uv = yuv_rows(matrix, bits, full_range)
    output = np.empty(height * width * 3 // 2, np.uint8 if bits == 8 else np.uint16)
    _quantize(cv2.transform(rgb, to_y).reshape(height, width), bits, output[:height * width].reshape(height, width))
    half = (width // 2, height // 2)
    chroma = cv2.transform(cv2.resize(rgb, half, interpolation=cv2.INTER_LINEAR), to_uv)
    size = half[0] * half[1]
    for channel in range(2):
        start = height * width + channel * size
        plane = output[start:start + size].reshape(half[1], half[0])
        _quantize(np.ascontiguousarray(chroma[..., channel]), bits, plane)
    return output.reshape(height * 3 // 2, width)
