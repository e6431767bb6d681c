"""Pause Python's cycle collector around work that allocates much and makes no reference cycles."""
from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Turn the cycle collector off inside the block, and back on after it if it was on.

    Each full collection walks every container object alive; during a large allocation burst (a
    file being labelled, spaCy being imported) they run many times over a growing heap for no
    garbage. Reference counting still frees everything meanwhile.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
