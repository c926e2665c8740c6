"""Keep the C allocator from handing big tensors back to the kernel after every use.

Why: a network pass on the CPU allocates and frees many tensors of a few to a few
tens of MB. glibc's malloc serves blocks that size with ``mmap`` (or trims them off
the heap when freed), so every pass maps fresh pages and faults each one in again:
at 540p the GridNet spent ~130 ms of system time per timestep on 70,000 page
faults, and ran 17 % faster without them. PyTorch has no caching allocator on the
CPU, so the fix is malloc's own settings (``mallopt``): serve blocks up to 32 MB
(glibc's upper limit) from the heap, and keep freed heap memory for the next pass.
Peak memory does not change; freed memory is reused instead of returned.

And one arena for every thread: the other arenas malloc gives threads (the
converter's model thread) are heaps of at most 64 MB that are unmapped when empty,
so the settings above did not reach them: the same 540p run took 89.6 s on a thread
and 78.3 s on the main thread. Threads started after this share the main heap (a lock
per allocation, which for a handful of threads allocating tensors costs nothing
measurable).

Process-wide and done once, only for glibc, and only where the environment does not
set malloc's own tunables (``MALLOC_*_``/``GLIBC_TUNABLES``) or ask to keep the
defaults (``STSR_MALLOC_TUNING=0``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os

#: ``mallopt`` parameters (glibc's ``malloc.h``)
M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
#: blocks up to this size come from the heap: glibc's maximum (``4 * 1024 * 1024 * sizeof(long)``)
MMAP_THRESHOLD = 32 * 1024 * 1024
#: freed memory kept at the top of the heap before it is returned to the kernel
TRIM_THRESHOLD = 2 * 1024 * 1024 * 1024
#: extra heap asked for at each growth, so the heap grows in few steps
TOP_PAD = 256 * 1024 * 1024


@functools.lru_cache(maxsize=1)
def keep_freed_memory() -> bool:
    """Apply the settings once; True if they are in force (False: not glibc, or opted out)."""
    if os.environ.get("STSR_MALLOC_TUNING", "1") == "0":
        return False
    if "GLIBC_TUNABLES" in os.environ or any(
        name in os.environ for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")
    ):
        return False  # the user tuned malloc: theirs wins
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
        libc.gnu_get_libc_version  # noqa: B018 - only glibc has it
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return all(mallopt(parameter, value) == 1 for parameter, value in (
        (M_MMAP_THRESHOLD, MMAP_THRESHOLD), (M_TRIM_THRESHOLD, TRIM_THRESHOLD), (M_TOP_PAD, TOP_PAD),
        (M_ARENA_MAX, 1)))
