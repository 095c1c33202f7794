"""Findings evaluation: per topic, which paragraphs came back against gold written from the reports first.

Gold (`eval/findings_topics.jsonl`, see eval/FINDINGS.md) lists, per topic, the paragraphs *about* it (required)
and those that only *mention* it (allowed, not required). Per topic:

- recall: share of `about` paragraphs returned;
- precision: share of returned paragraphs that are `about` or `mentions`;
- ordering: share of (about, mention-only) pairs from the same report where the `about` one ranks higher;
- reports: whether the set of reports returned equals the set with an `about` paragraph.

Topics alternate dev / test by their position in the file; thresholds are tuned on dev only.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.findings import FindingsRequest
from eval.dataset import DatasetError, Gold
from eval.metrics import mean, percentile
from indexer.models import Findings

DEFAULT_TOPICS = Path(__file__).resolve().parent / "findings_topics.jsonl"
Ref = tuple[str, str]


class Topic(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    topic: str = Field(min_length=1)
    local_authority: str
    about: list[Gold] = Field(min_length=1)
    mentions: list[Gold] = Field(default_factory=list)


def load_topics(path: Path = DEFAULT_TOPICS) -> list[Topic]:
    """Return the findings topics, or raise DatasetError naming the bad lines."""
    topics, problems = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            topics.append(Topic.model_validate(json.loads(line)))
        except (json.JSONDecodeError, ValueError) as exc:
            problems.append(f"line {number}: {exc}")
    if problems or not topics:
        raise DatasetError(f"{path}: " + (" | ".join(problems[:10]) or "no topics found."))
    return topics


def split_of(position: int) -> Literal["dev", "test"]:
    """Return the split of a topic: all dev, since every topic has been read while tuning."""
    return "dev"


def returned_refs(findings: Findings) -> list[tuple[Ref, float]]:
    """Return every returned paragraph with its relevance."""
    return [((c.document_id, c.paragraph), c.score) for g in findings.groups for r in g.reports for c in r.paragraphs]


def score_topic(topic: Topic, findings: Findings, resolve: Callable[[str], str]) -> dict[str, Any]:
    """Return recall, precision, ordering and report agreement for one topic."""
    about = {(resolve(g.document_id), g.paragraph) for g in topic.about}
    mentions = {(resolve(g.document_id), g.paragraph) for g in topic.mentions} - about
    got = returned_refs(findings)
    refs = {ref for ref, _ in got}
    score = dict(got)
    pairs = [(a, m) for a in about for m in mentions if a[0] == m[0] and a in score and m in score]
    return {
        "recall": len(refs & about) / len(about),
        "precision": len(refs & (about | mentions)) / len(refs) if refs else 1.0,
        "ordering": mean([1.0 if score[a] > score[m] else 0.0 for a, m in pairs]) if pairs else None,
        "reports_exact": {d for d, _ in refs} == {d for d, _ in about},
        "returned": len(refs),
        "missed": sorted(f"{d}#{p}" for d, p in about - refs),
        "extra": sorted(f"{d}#{p}" for d, p in refs - about - mentions),
    }


def evaluate_findings(
    topics: list[Topic], run: Callable[[FindingsRequest], Findings], resolve: Callable[[str], str]
) -> dict[str, Any]:
    """Run every topic; return per-topic rows and per-split means (recall, precision, ordering, latency)."""
    rows: list[dict[str, Any]] = []
    for position, topic in enumerate(topics):
        t0 = time.perf_counter()
        findings = run(FindingsRequest(topic=topic.topic, local_authority=topic.local_authority))
        latency = (time.perf_counter() - t0) * 1000
        rows.append(
            {"id": topic.id, "topic": topic.topic, "split": split_of(position), "latency_ms": round(latency, 1)}
            | score_topic(topic, findings, resolve)
        )
    summary = {}
    for split in ("dev", "all"):
        chosen = [r for r in rows if split in ("all", r["split"])]
        orderings = [r["ordering"] for r in chosen if r["ordering"] is not None]
        summary[split] = {
            "topics": len(chosen),
            "recall": round(mean([r["recall"] for r in chosen]), 3),
            "precision": round(mean([r["precision"] for r in chosen]), 3),
            "ordering": round(mean(orderings), 3) if orderings else None,
            "reports_exact": round(mean([1.0 if r["reports_exact"] else 0.0 for r in chosen]), 3),
            "latency_p50_ms": round(percentile([r["latency_ms"] for r in chosen], 50), 1),
        }
    return {"summary": summary, "topics": rows}


def markdown_table(result: dict[str, Any]) -> str:
    """Return the summary and per-topic rows as Markdown."""
    lines = ["| split | topics | recall | precision | about above mention | reports exact | p50 ms |", "|---" * 7 + "|"]
    for split, s in result["summary"].items():
        lines.append(
            f"| {split} | {s['topics']} | {s['recall']} | {s['precision']} | {s['ordering']} | {s['reports_exact']} "
            f"| {s['latency_p50_ms']} |"
        )
    lines += ["", "| id | topic | split | recall | precision | returned | missed | extra |", "|---" * 8 + "|"]
    for r in result["topics"]:
        lines.append(
            f"| {r['id']} | {r['topic']} | {r['split']} | {r['recall']:.2f} | {r['precision']:.2f} | {r['returned']} "
            f"| {', '.join(r['missed']) or '-'} | {', '.join(r['extra']) or '-'} |"
        )
    return "\n".join(lines) + "\n"
