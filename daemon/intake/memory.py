"""The daemon's memory: large buffers go back to the system as soon as they are freed,
and what start-up made is kept out of the collector's full passes.

Buffers of a megabyte and more pass through the daemon briefly: the language model's
arrays while it loads, a large mail's 1 MiB slices while it is read and stored. glibc
serves such a buffer with mmap and unmaps it on free, but after the first free it raises
its mmap threshold to that size, so every later one comes from the heap instead, where
freed space is kept by the process. Fixing the threshold keeps big buffers in mmap and
the peak resident size lower (measured by bench/pipeline.py figure 6, 20 small mails and
three of 25 MB: 196 -> 184 MiB; 192 -> 180 MiB with the small mails alone).

Python's cyclic collector walks every tracked object in a full pass: after start-up (the
language model's tables, the parsers' and templates' data, the ORM's mappings) about
140,000, some 100-120 ms on the bench's machine, every hundred requests or so, and that
pause falls into some customer's wait for the acknowledgment. Frozen once start-up is done
(`gc.freeze`), they are skipped; what the daemon makes afterwards is collected as before.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
from collections.abc import Iterator
from contextlib import contextmanager

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


@contextmanager
def start_up_objects_set_aside() -> Iterator[None]:
    """While the block runs, full collections skip the objects alive when it began.

    Garbage is collected first, so nothing unreachable is frozen with them; they are
    unfrozen when the block ends, so a process that goes on (a test run) can free them.
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
