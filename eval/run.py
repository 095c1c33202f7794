"""Evaluation runs: each system answers the same questions; per-question records and per-split summaries."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from eval.dataset import Question
from eval.metrics import Ref, bootstrap_ci, hit, mean, percentile, precision, recall, terms_present


@dataclass
class Output:
    """What a system returned for one question."""

    answer: str
    answerable: bool
    cited: list[Ref]
    ranked: list[Ref] = field(default_factory=list)
    latency_ms: float = 0.0
    support: float | None = None  # share of answer sentences their citations support (None: no sentences)
    history: list[Ref] = field(default_factory=list)  # older reports' paragraphs shown apart as history
    generation: dict[str, Any] | None = None  # the LLM answerer's sentences, checks and fallback (eval/generation.py)


System = Callable[[Question], Output]


@dataclass
class Record:
    id: str
    type: str
    split: str
    system: str
    answerable: bool
    register: str
    refused: bool
    hit: float | None
    recall: float | None
    precision: float | None
    terms: float | None
    latency_ms: float
    cited: list[Ref]
    answer: str
    support: float | None = None
    history: list[Ref] = field(default_factory=list)
    precision_with_history: float | None = None
    generation: dict[str, Any] | None = None


def normalise(ref: Ref, aliases: dict[str, str]) -> Ref:
    """Return a reference with its document id mapped to the canonical id."""
    return (aliases.get(ref[0], ref[0]), ref[1])


def score(question: Question, output: Output, system: str, aliases: dict[str, str]) -> Record:
    """Return the per-question record: hit, recall, precision, key terms, refusal, latency."""
    gold = {normalise((g.document_id, g.paragraph), aliases) for g in question.gold}
    cited = {normalise(r, aliases) for r in output.cited}
    history = {normalise(r, aliases) for r in output.history}
    shown = cited | history
    refused = not output.answerable
    answered = question.answerable and not refused
    return Record(
        id=question.id,
        type=question.type,
        split=question.split,
        system=system,
        answerable=question.answerable,
        register=question.wording,
        refused=refused,
        hit=(hit(cited, gold) if answered else 0.0) if question.answerable else None,
        recall=(recall(cited, gold) if answered else 0.0) if question.answerable else None,
        precision=precision(cited, gold) if answered else None,
        terms=(terms_present(output.answer, question.must) if answered else 0.0) if question.answerable else None,
        latency_ms=output.latency_ms,
        cited=sorted(cited),
        answer=output.answer,
        support=output.support,
        history=sorted(history),
        precision_with_history=precision(shown, gold) if answered else None,
        generation=output.generation,
    )


def run_system(
    name: str,
    system: System,
    questions: Sequence[Question],
    aliases: dict[str, str],
    progress: Callable[[], None] | None = None,
) -> list[Record]:
    """Return one record per question for one system."""
    records = []
    for q in questions:
        t0 = time.perf_counter()
        out = system(q)
        if not out.latency_ms:
            out.latency_ms = (time.perf_counter() - t0) * 1000
        records.append(score(q, out, name, aliases))
        if progress:
            progress()
    return records


def _figure(values: list[float]) -> dict[str, Any]:
    lo, hi = bootstrap_ci(values)
    return {
        "value": round(mean(values), 4) if values else None,
        "n": len(values),
        "ci95": [round(lo, 4), round(hi, 4)] if values else None,
    }


def summarise(records: Sequence[Record]) -> dict[str, Any]:
    """Return the summary figures of a set of records, each with its question count and 95% CI."""
    answerable = [r for r in records if r.answerable]
    unanswerable = [r for r in records if not r.answerable]
    lat = [r.latency_ms for r in records]
    return {
        "questions": len(records),
        "hit_rate": _figure([r.hit for r in answerable if r.hit is not None]),
        "citation_recall": _figure([r.recall for r in answerable if r.recall is not None]),
        "citation_precision": _figure([r.precision for r in answerable if r.precision is not None]),
        # the same, counting as cited the older reports' paragraphs shown apart as history
        "precision_with_history": _figure(
            [r.precision_with_history for r in answerable if r.precision_with_history is not None]
        ),
        "key_terms": _figure([r.terms for r in answerable if r.terms is not None]),
        "refusal_accuracy": _figure([1.0 if r.refused else 0.0 for r in unanswerable]),
        "false_refusals": _figure([1.0 if r.refused else 0.0 for r in answerable]),
        # lexical rule (eval/README.md): verbatim extractive sentences pass it trivially
        "citation_support": _figure([r.support for r in records if r.support is not None]),
        "latency_p50_ms": round(percentile(lat, 50), 1) if lat else None,
        "latency_p95_ms": round(percentile(lat, 95), 1) if lat else None,
    }


def summarise_by(records: Sequence[Record], key: str) -> dict[str, dict[str, Any]]:
    """Return summaries grouped by a record field (split, type, system)."""
    groups: dict[str, list[Record]] = {}
    for r in records:
        groups.setdefault(str(getattr(r, key)), []).append(r)
    return {k: summarise(v) for k, v in sorted(groups.items())}


def records_as_dicts(records: Sequence[Record]) -> list[dict[str, Any]]:
    """Return records as JSON-ready dicts."""
    return [asdict(r) for r in records]


def authority_checks(
    records: list[Record], questions: Sequence[Question], reports: dict[str, tuple[str, Any]]
) -> dict[str, Any]:
    """Count citations of another authority than the gold's, and stale ones: an older report of the gold's
    authority cited where a newer one is gold. `reports` maps report id → (authority, last inspection date)."""
    by_id = {q.id: q for q in questions}
    cited = wrong = stale = history = 0
    wrong_ids: list[str] = []
    stale_ids: list[str] = []
    for record in records:
        q = by_id[record.id]
        gold_docs = {g.document_id for g in q.gold}
        gold = [reports[d] for d in gold_docs if d in reports]
        if not gold:
            continue
        authorities = {a for a, _ in gold}
        newest = {a: max(end for b, end in gold if b == a) for a in authorities}
        shown_as_history = {tuple(h) for h in record.history}
        for doc, label in [*record.cited, *record.history]:
            if doc not in reports:
                continue
            cited += 1
            authority, end = reports[doc]
            if authority not in authorities:
                wrong += 1
                wrong_ids.append(record.id)
            elif doc not in gold_docs and end < newest[authority]:
                if (doc, label) in shown_as_history:
                    history += 1  # shown apart as an earlier report's finding, not as the current position
                    continue
                stale += 1
                stale_ids.append(record.id)
    return {
        "citations_checked": cited,
        "wrong_authority": wrong,
        "wrong_authority_questions": sorted(set(wrong_ids)),
        "stale": stale,
        "stale_questions": sorted(set(stale_ids)),
        "older_shown_as_history": history,
    }
