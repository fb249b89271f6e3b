"""Keep freed memory in the process instead of returning it to the kernel at every step.

glibc serves blocks above its mmap threshold (128 KiB, raised dynamically only up to the largest
block freed so far) with a fresh mmap and gives them back with munmap, and it trims the top of the
heap once more than 128 KiB is free there. A CPU training step allocates and frees weight-sized
tensors (an MLP over 6,373 ComParE functionals: 13 MB gradients and Adam buffers) every step, so each
step paid for zeroed pages from the kernel: on EmoDB with the copies an epoch took 3.2-3.6 s (13.8 s
of a 10-epoch run's 36.5 s of CPU in the kernel), and 1.5-1.9 s with the two thresholds below (the
same losses to the digit).
benchmarks/README.md has the measurement.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging

logger = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 32 << 20  # glibc's upper limit on 64-bit systems (HEAP_MAX_SIZE / 2)
_TRIM_THRESHOLD = 1 << 30


def keep_freed_memory() -> bool:
    """Raises glibc's mmap and trim thresholds for this process; True when glibc took both.
    Elsewhere (musl, macOS) nothing changes and training is only slower."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    ok = bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))
    if not ok:
        logger.debug("mallopt refused the thresholds; freed memory goes back to the kernel as before")
    return ok
