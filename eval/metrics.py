"""Metrics over (question, system output) pairs: pure functions, defined in eval/README.md."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence

Ref = tuple[str, str]  # (document_id, paragraph label)


def hit(cited: set[Ref], gold: set[Ref]) -> float:
    """1.0 when any gold paragraph is among the cited ones."""
    return 1.0 if cited & gold else 0.0


def recall(cited: set[Ref], gold: set[Ref]) -> float:
    """Share of gold paragraphs cited."""
    return len(cited & gold) / len(gold) if gold else 0.0


def precision(cited: set[Ref], gold: set[Ref]) -> float | None:
    """Share of cited paragraphs that are gold; None when nothing was cited."""
    return len(cited & gold) / len(cited) if cited else None


def hit_at_k(ranked: Sequence[Ref], gold: set[Ref], k: int) -> float:
    """1.0 when a gold paragraph is among the first k retrieved."""
    return 1.0 if set(ranked[:k]) & gold else 0.0


def reciprocal_rank(ranked: Sequence[Ref], gold: set[Ref]) -> float:
    """1 / rank of the first gold paragraph retrieved (0 when none)."""
    for rank, ref in enumerate(ranked, start=1):
        if ref in gold:
            return 1.0 / rank
    return 0.0


def terms_present(answer: str, must: Sequence[str]) -> float:
    """1.0 when every required key term occurs in the answer (case and white space ignored)."""
    norm = re.sub(r"\s+", " ", answer.lower())
    return 1.0 if all(re.sub(r"\s+", " ", t.lower()) in norm for t in must) else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """Return the q-th percentile (0-100) by linear interpolation."""
    if not values:
        return float("nan")
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo, hi = int(pos), min(int(pos) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def mean(values: Sequence[float]) -> float:
    """Arithmetic mean (nan for none)."""
    return sum(values) / len(values) if values else float("nan")


def bootstrap_ci(
    values: Sequence[float], stat: Callable[[Sequence[float]], float] = mean, n: int = 1000, seed: int = 13
) -> tuple[float, float]:
    """Return a 95% bootstrap confidence interval of a statistic (seeded: the same run gives the same CI)."""
    if not values:
        return (float("nan"), float("nan"))
    rng = random.Random(seed)
    stats = sorted(stat([rng.choice(values) for _ in values]) for _ in range(n))
    return (stats[int(0.025 * n)], stats[int(0.975 * n) - 1])
