"""The allocator settings keep big tensors' memory mapped between passes (fewer page faults, same results)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

#: five GridNet passes at 240x144 (random weights, float32): how many minor page faults they cost
PROBE = """
import json, resource
import torch
from stsr.archs.gmfss_union.fusionnet import GridNet
from stsr.interpolators.allocator import keep_freed_memory
applied = keep_freed_memory()
torch.manual_seed(0)
net = GridNet().eval()
h, w = 144, 240
inputs = (torch.rand(1, 6, h, w), torch.rand(1, 64, h, w), torch.rand(1, 128, h // 2, w // 2),
          torch.rand(1, 192, h // 4, w // 4), torch.rand(1, 3, h, w))
with torch.inference_mode():
    first = net(*inputs)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
        same = torch.equal(net(*inputs), first)
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
print(json.dumps({"applied": applied, "faults": faults, "same": same}))
"""


def _probe(**env: str) -> dict:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("MALLOC_")}
    environment.update(env)
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, env=environment)
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_tensors_are_reused_without_page_faults() -> None:
    tuned, default = _probe(), _probe(STSR_MALLOC_TUNING="0")
    assert tuned["applied"] and not default["applied"]
    # malloc's defaults hand the passes' 4-9 MB temporaries back and fault them in again (~90,000
    # faults measured); kept, the later passes reuse the first one's pages (0 to ~2,500 faults)
    assert default["faults"] > 20_000
    assert tuned["faults"] < default["faults"] / 10
    assert tuned["same"] and default["same"]


def test_users_own_malloc_settings_win() -> None:
    assert not _probe(MALLOC_MMAP_THRESHOLD_="65536")["applied"]
