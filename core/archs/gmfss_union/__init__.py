"""GMFSS_union (GMFlow + RIFE + softmax splatting + GridNet) in pure PyTorch.

Network modules only; loading the weights lives in :mod:`core.weights`.
"""

from .fusionnet import FusionNet, GridNet
from .gmflow import GMFlow
from .ifnet import IFNet
from .metricnet import MetricNet
from .model import ALIGNMENT, FrameFeatures, GMFSSUnion, PairState
from .softsplat import forward_splat, softmax_splat
from .warp import backward_warp

__all__ = [
    "ALIGNMENT",
    "FrameFeatures",
    "FusionNet",
    "GMFSSUnion",
    "GMFlow",
    "GridNet",
    "IFNet",
    "MetricNet",
    "PairState",
    "backward_warp",
    "forward_splat",
    "softmax_splat",
]
