"""Index generations on disk: which one is live (CURRENT) and the lock that lets one build run at a time."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def current_generation(index_dir: Path) -> str | None:
    """Return the name of the live generation (one small file read), or None when there is none."""
    try:
        return (index_dir / "CURRENT").read_text(encoding="utf-8").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


@contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Hold the index directory's build lock: a second build (CLI, cron or upload) waits for the first.

    An advisory flock, so a build killed with -9 releases it with its process; readers never take it.
    """
    index_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(index_dir / ".build.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
