"""The daemon's memory: large buffers go back to the system as soon as they are freed.

Buffers of a megabyte and more pass through the daemon briefly: the language model's
arrays while it loads, a large mail's 1 MiB slices while it is read and stored. glibc
serves such a buffer with mmap and unmaps it on free, but after the first free it raises
its mmap threshold to that size, so every later one comes from the heap instead, where
freed space is kept by the process. Fixing the threshold keeps big buffers in mmap and
the peak resident size lower (measured by bench/pipeline.py figure 6, 20 small mails and
three of 25 MB: 196 -> 184 MiB; 192 -> 180 MiB with the small mails alone).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # mallopt parameter number in glibc's malloc.h
MMAP_THRESHOLD_BYTES = 1024 * 1024


def return_large_buffers() -> bool:
    """Fix glibc's mmap threshold; True when set (False off glibc, where nothing is needed)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS): its malloc has no such knob
        return False
    done = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
    log.debug("mmap threshold fixed at %d bytes: %s", MMAP_THRESHOLD_BYTES, done)
    return done
