"""emogcn.training.heap: with the thresholds raised, a loop that frees and allocates weight-sized
buffers (what a CPU training step does) stops taking fresh pages from the kernel every time."""
import platform
import subprocess
import sys

import pytest

_LOOP = """
import resource, sys
import numpy as np
if sys.argv[1] == "keep":
    from emogcn.training.heap import keep_freed_memory
    assert keep_freed_memory()
def step():  # a gradient and Adam's two moments of the ComParE MLP's first layer (13 MB each, float32)
    bufs = [np.ones(13 << 20, dtype=np.uint8) for _ in range(3)]
    return sum(int(b[::4096].sum()) for b in bufs)
step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(100):
    step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _page_faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", _LOOP, mode], check=True, capture_output=True, text=True)
    return int(out.stdout.strip())


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt's thresholds are glibc's")
def test_freed_buffers_are_reused_without_new_pages():
    default, kept = _page_faults("default"), _page_faults("keep")
    pages_per_step = 3 * (13 << 20) // 4096
    assert default > 3 * pages_per_step  # glibc's default: the heap is trimmed and refilled with fresh pages
    assert kept < pages_per_step // 10  # kept: from the second step on the freed blocks are reused
