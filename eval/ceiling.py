"""The retrieval ceiling: the best hit rate any reranker could reach reading the first k fused candidates.

A question the system answers without the cross-encoder (a grade read from the judgement table, an improvement
list, a refusal before retrieval) counts as it was answered. Every other answerable question counts as a hit at
depth k when a gold paragraph is among the first k candidates of the first stage (dense and BM25, fused): a
perfect reranker reading those k would cite it. A miss under that line is the first stage's; a miss above it is
the reranker's or the answerer's. Follow-ups may add the previous answer's paragraphs to the candidates, and a
question naming no date may add the newest report's best paragraph: those are not counted, so for conversations
the ceiling is a little low.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from eval.dataset import Question
from eval.metrics import Ref, hit
from indexer.models import Answer, Hit, Turn

DEPTHS = (4, 8, 12, 16, 30)


@dataclass(frozen=True)
class CeilingRow:
    """One answerable question: how the system answered it and where the first stage put its gold."""

    id: str
    split: str
    direct: bool  # answered without the cross-encoder
    hit: float  # the system's own hit
    gold_rank: int | None  # 0-based rank of the first gold paragraph among the fused candidates; None: absent


def gold_rank(candidates: Sequence[Ref], gold: set[Ref]) -> int | None:
    """Return the 0-based rank of the first gold paragraph among the candidates, or None when none is there."""
    return next((rank for rank, ref in enumerate(candidates) if ref in gold), None)


def ceiling(rows: Sequence[CeilingRow], depth: int) -> float:
    """Return the hit rate a perfect reranker reading `depth` candidates would reach over these questions."""
    if not rows:
        return float("nan")
    won = sum(r.hit if r.direct else float(r.gold_rank is not None and r.gold_rank < depth) for r in rows)
    return won / len(rows)


def ceiling_rows(
    questions: Sequence[Question],
    ask: Callable[[str, list[Turn]], Answer],
    candidates: Callable[[str, list[Turn]], list[Hit]],
    canonical: Callable[[str], str],
) -> list[CeilingRow]:
    """Return a row per answerable question: the system's answer (`ask`) and the first stage's list (`candidates`)."""
    rows = []
    for q in questions:
        if not q.answerable:
            continue
        gold = {(canonical(g.document_id), g.paragraph) for g in q.gold}
        answer = ask(q.question, list(q.history))
        cited = {(canonical(c.document_id), c.paragraph) for c in answer.citations}
        direct = "rerank" not in answer.timings_ms  # grades, improvement lists, refusals before retrieval
        fused = [] if direct else [h.chunk.key for h in candidates(q.question, list(q.history))]
        rows.append(CeilingRow(q.id, q.split, direct, hit(cited, gold), gold_rank(fused, gold)))
    return rows


def summary(rows: Sequence[CeilingRow], depths: Sequence[int] = DEPTHS) -> dict[str, Any]:
    """Return the figures of a set of rows: counts, the system's hit rate and the ceiling at each depth."""
    direct = [r for r in rows if r.direct]
    return {
        "answerable": len(rows),
        "answered_without_reranker": len(direct),
        "of_which_hit": int(sum(r.hit for r in direct)),
        "hit_rate": round(sum(r.hit for r in rows) / len(rows), 4) if rows else None,
        "ceiling": {str(d): round(ceiling(rows, d), 4) for d in depths},
    }


def markdown(by_split: dict[str, dict[str, Any]], depths: Sequence[int] = DEPTHS) -> str:
    """Return the summaries as a Markdown table, one row per split."""
    head = "| split | answerable | answered without reranker (hit) | hit rate | " + " | ".join(
        f"ceiling @{d}" for d in depths
    )
    lines = [head + " |", "|" + "---|" * (4 + len(depths))]
    for split, s in by_split.items():
        cells = [split, str(s["answerable"]), f"{s['answered_without_reranker']} ({s['of_which_hit']})"]
        cells.append(f"{s['hit_rate']:.3f}" if s["hit_rate"] is not None else "-")
        cells += [f"{s['ceiling'][str(d)]:.3f}" for d in depths]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def rows_as_dicts(rows: Sequence[CeilingRow]) -> list[dict[str, Any]]:
    """Return rows as JSON-ready dicts."""
    return [asdict(r) for r in rows]
