"""Systems under evaluation: ofsted-qa in process, or a running deployment over HTTP."""

from __future__ import annotations

from typing import Any, Literal

from api.engine import Engine
from eval.dataset import Question
from eval.run import Output, System
from indexer.models import Answer


def _support(answer: Answer) -> float | None:
    from api.citations import supports

    shown = [(s, answer.citations) for s in answer.sentences]
    shown += [(s, answer.earlier_citations) for s in answer.earlier]
    if not shown:
        return None
    if answer.generation is not None and answer.generation.answerer == "llm":
        # generated sentences are not verbatim: supported when they passed api/enforce.py's check (not flagged)
        ok = [bool(s.citations) and not s.unsupported for s, _ in shown]
    else:
        ok = [all(supports(s.text, cited[i]) for i in s.citations) and bool(s.citations) for s, cited in shown]
    return sum(ok) / len(ok)


def _generation(answer: Answer) -> dict[str, Any] | None:
    """Return what the LLM answerer did for one answer, for eval/generation.py (None: not asked for)."""
    g = answer.generation
    if g is None:
        return None
    shown = {s.text for s in [*answer.sentences, *answer.earlier]} if g.answerer == "llm" else set()
    return {
        "answerer": g.answerer,
        "fallback": g.fallback,
        "generated": len(g.checks),
        # sentences the check failed, each with the rules it failed; those that passed but went with a fallback
        # (a later time-out, refusal or malformed output) are counted apart
        "dropped_rules": [
            sorted({r.split(":")[0] for r in c.reasons if not r.startswith("unknown_label")})
            for c in g.checks
            if not c.passed and c.text not in shown
        ],
        "discarded": sum(1 for c in g.checks if c.passed and c.text not in shown),
        "labels_removed": sum(1 for c in g.checks for r in c.reasons if r.startswith("unknown_label")),
        "flagged": sum(1 for s in [*answer.sentences, *answer.earlier] if s.unsupported),
        "generate_ms": round(answer.timings_ms.get("generate", 0.0), 1),
    }


def _output(answer: Answer) -> Output:
    return Output(
        generation=_generation(answer),
        support=_support(answer),
        answer=answer.answer,
        answerable=answer.answerable,
        cited=[(c.document_id, c.paragraph) for c in answer.citations],
        ranked=[(c.document_id, c.paragraph) for c in answer.citations],
        latency_ms=answer.timings_ms.get("total", 0.0),
        history=[(c.document_id, c.paragraph) for c in answer.earlier_citations],
    )


def ofsted_qa(
    engine: Engine,
    rerank_candidates: int | None = None,
    use_history: bool = True,
    answerer: Literal["extractive", "llm"] | None = None,
) -> System:
    """Return ofsted-qa answering in this process (optionally ignoring the conversation, as a baseline), with the
    configured answerer or the one named."""

    def run(q: Question) -> Output:
        history = list(q.history) if use_history else []
        return _output(engine.ask(q.question, history=history, rerank_candidates=rerank_candidates, answerer=answerer))

    return run


def over_http(url: str, timeout_s: float = 60.0) -> System:
    """Return a deployment answering over HTTP (POST {url}/ask); latency is measured end to end."""
    import time

    import httpx

    client = httpx.Client(base_url=url.rstrip("/"), timeout=timeout_s)

    def run(q: Question) -> Output:
        body: dict[str, Any] = {"question": q.question, "history": [t.model_dump() for t in q.history]}
        t0 = time.perf_counter()
        response = client.post("/ask", json=body)
        elapsed = (time.perf_counter() - t0) * 1000
        response.raise_for_status()
        out = _output(Answer.model_validate(response.json()))
        out.latency_ms = elapsed
        return out

    return run
