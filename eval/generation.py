"""What the LLM answerer did over a run: answers generated or fallen back (and why), sentences dropped by the check
(and by which rule), labels removed, and the time generation took."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from eval.metrics import percentile
from eval.run import Record


def generation_summary(records: Sequence[Record]) -> dict[str, Any] | None:
    """Return the LLM answerer's figures over a system's records (None when it was never asked for)."""
    rows = [r.generation for r in records if r.generation is not None]
    if not rows:
        return None
    asked = [g for g in rows if g["fallback"] != "not_generated"]
    generated = sum(g["generated"] for g in asked)
    dropped = [rules for g in asked for rules in g["dropped_rules"]]
    times = [g["generate_ms"] for g in asked]
    return {
        "answers": len(rows),
        "not_generated": len(rows) - len(asked),  # refusals and table answers: the LLM is never asked
        "llm_asked": len(asked),
        "llm_shown": sum(1 for g in asked if g["answerer"] == "llm"),
        "fallbacks": dict(Counter(g["fallback"] for g in asked if g["fallback"]).most_common()),
        "sentences_generated": generated,
        "sentences_dropped": len(dropped),
        "dropped_share": round(len(dropped) / generated, 4) if generated else None,
        # a dropped sentence can fail several rules: each rule it failed is counted once
        "dropped_by_rule": dict(Counter(rule for rules in dropped for rule in rules).most_common()),
        "discarded_with_fallback": sum(g.get("discarded", 0) for g in asked),
        "labels_removed": sum(g["labels_removed"] for g in asked),
        "sentences_flagged": sum(g["flagged"] for g in asked),
        "generate_p50_ms": round(percentile(times, 50), 1) if times else None,
        "generate_p95_ms": round(percentile(times, 95), 1) if times else None,
    }


def generation_markdown(name: str, figures: dict[str, Any]) -> list[str]:
    """Return Markdown lines describing one system's generation figures."""
    rules = ", ".join(f"{rule} {n}" for rule, n in figures["dropped_by_rule"].items()) or "none"
    fallbacks = ", ".join(f"{kind} {n}" for kind, n in figures["fallbacks"].items()) or "none"
    share = figures["dropped_share"]
    return [
        f"## {name}: generation",
        "",
        f"- Of {figures['answers']} answers, {figures['not_generated']} were refusals or read from a table (never "
        f"generated); the LLM was asked for {figures['llm_asked']} and its answer was shown for "
        f"{figures['llm_shown']}.",
        f"- Fallbacks to the extractive answer: {fallbacks}.",
        f"- Sentences generated: {figures['sentences_generated']}; dropped by the check: "
        f"{figures['sentences_dropped']} ({'–' if share is None else f'{share:.1%}'}); by rule failed: {rules}; "
        f"passed but discarded with a fallback: {figures['discarded_with_fallback']}.",
        f"- Labels removed (not among the paragraphs given): {figures['labels_removed']}; sentences shown flagged: "
        f"{figures['sentences_flagged']}.",
        f"- Generation time: p50 {figures['generate_p50_ms']} ms, p95 {figures['generate_p95_ms']} ms.",
        "",
    ]
