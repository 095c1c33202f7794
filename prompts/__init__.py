"""Plain-text templates the answerer speaks with; `load(name)` returns one. The refusal sentence lives here."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_DIR = Path(__file__).resolve().parent


@cache
def load(name: str) -> str:
    """Return the template `name` (a .txt file in this folder), without its trailing newline."""
    return (_DIR / f"{name}.txt").read_text(encoding="utf-8").rstrip("\n")
