"""Generate: the LLM answerer's compose stage. It runs only after the judge chose to answer and the extractive
answer passed verification, writes sentences from the paragraphs retrieval returned, checks each one against the
paragraphs it cites (api/enforce.py), and falls back to the extractive answer whenever nothing supported is left.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from api.compose import earlier_reports, format_dates, make_citation, report_name
from api.enforce import Evidence, Scorer, check_sentence, normalise_label
from api.llm import GenerationFailed, stream_answer
from indexer.models import Answer, Citation, Generation, Hit, Sentence, SentenceCheck, TraceStep, separate_earlier
from indexer.settings import Settings
from indexer.store import Index
from prompts import prompt_sha256

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel


class Draft(BaseModel):
    """What the compose stage starts from: the question as resolved, the verified extractive answer (the
    fallback) and the paragraphs the model is given, newest report first."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    question: str = Field(description="The question as asked in context (follow-ups resolved).")
    extractive: Answer = Field(description="The verified extractive answer: shown whenever generation fails.")
    given: list[Hit] = Field(description="The paragraphs given to the model, newest report first.")
    earlier: list[str] = Field(description="Ids of the given reports that are history, not the current position.")


class StreamedSentence(BaseModel):
    """A checked sentence, ready to show, with its citations in full."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    citations: list[Citation]
    earlier: bool
    unsupported: str = ""


class Retracted(BaseModel):
    """Generation failed after sentences were streamed: they are withdrawn and the extractive answer follows."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str
    detail: str
    sentences: int = Field(description="How many streamed sentences are withdrawn.")


Event = StreamedSentence | Retracted | Answer


def give_paragraphs(extractive: Answer, ranked: list[Hit], index: Index, settings: Settings) -> list[Hit]:
    """Return the paragraphs the model reads: those the extractive answer cites, then the next best reranked
    ones that pass `answer.min_paragraph_score`, at most `llm.max_paragraphs`, newest report first."""
    best: dict[tuple[str, str], Hit] = {}
    for hit in ranked:
        best.setdefault(hit.chunk.key, hit)
    keys = [(c.document_id, c.paragraph) for c in [*extractive.citations, *extractive.earlier_citations]]
    keys += [k for k, h in best.items() if h.score >= settings.answer.min_paragraph_score]
    chosen = [best[k] for k in dict.fromkeys(keys) if k in best][: settings.llm.max_paragraphs]
    rank = {h.chunk.key: i for i, h in enumerate(chosen)}
    return sorted(chosen, key=lambda h: (-index.reports[h.chunk.document_id].ends.toordinal(), rank[h.chunk.key]))


def make_draft(question: str, ranked: list[Hit], extractive: Answer, index: Index, settings: Settings) -> Draft:
    """Return the compose stage's starting point for one answer."""
    given = give_paragraphs(extractive, ranked, index, settings)
    return Draft(
        question=question,
        extractive=extractive,
        given=given,
        earlier=sorted(earlier_reports(question, given, index)),
    )


def label_of(hit: Hit) -> str:
    """Return the label a paragraph is given to the model by: its reference, 'document_id#paragraph'."""
    return f"{hit.chunk.document_id}#{hit.chunk.paragraph}"


def format_paragraphs(given: list[Hit], index: Index, earlier: list[str]) -> str:
    """Return the paragraphs as the prompt shows them: label, report, dates and section, then the text."""
    blocks = []
    for hit in given:
        report = index.reports[hit.chunk.document_id]
        paragraph = index.paragraphs[hit.chunk.key]
        when = "an older report" if report.document_id in earlier else "the current position"
        head = f"[{label_of(hit)}] {report_name(report)}, {format_dates(report.inspection_dates)} ({when})"
        section = f"\nSection: {paragraph.section}" if paragraph.section else ""
        blocks.append(f"{head}{section}\n{paragraph.text}")
    return "\n\n".join(blocks)


def evidence_of(draft: Draft, index: Index) -> dict[str, Evidence]:
    """Return the given paragraphs by label, with what the check reads of each."""
    return {
        label_of(h): Evidence(
            label=label_of(h),
            paragraph=index.paragraphs[h.chunk.key],
            report=index.reports[h.chunk.document_id],
            passage=h.chunk.text,
        )
        for h in draft.given
    }


def _generation(settings: Settings, checks: list[SentenceCheck], failure: GenerationFailed | None) -> Generation:
    return Generation(
        requested="llm",
        answerer="extractive" if failure else "llm",
        model=settings.llm.model,
        prompt_version=settings.llm.prompt_version,
        prompt_sha256=prompt_sha256(settings.llm.prompt_version),
        fallback=failure.kind if failure else "",
        detail=failure.detail if failure else "",
        checks=checks,
    )


def same_sentence(a: str, b: str) -> bool:
    """Return whether two sentences are the same but for case, spaces and punctuation."""
    return re.sub(r"\W+", " ", a).strip().lower() == re.sub(r"\W+", " ", b).strip().lower()


def _cited(check: SentenceCheck, given: dict[str, Evidence]) -> list[str]:
    return list(dict.fromkeys(normalise_label(x) for x in check.labels if normalise_label(x) in given))


def generate_events(
    draft: Draft, model: BaseChatModel, index: Index, scorer: Scorer | None, settings: Settings
) -> Iterator[Event]:
    """Yield each checked sentence as the model completes it, then the final answer; when generation fails or
    nothing supported is left, a Retracted event (if sentences went out) and then the extractive answer."""
    cfg = settings.llm
    given = evidence_of(draft, index)
    hits = {label_of(h): h for h in draft.given}
    paragraphs = format_paragraphs(draft.given, index, draft.earlier)
    checks: list[SentenceCheck] = []
    shown: list[tuple[SentenceCheck, list[str]]] = []
    failure: GenerationFailed | None = None
    try:
        for sentence in stream_answer(model, cfg, paragraphs, draft.question, list(given)):
            check = check_sentence(
                sentence.text, sentence.labels, given, scorer, cfg.min_word_overlap, cfg.min_support_score
            )
            if any(same_sentence(check.text, c.text) for c in checks):  # small models repeat themselves
                check = check.model_copy(update={"reasons": [*check.reasons, "repeat: the same sentence again"]})
            checks.append(check)
            cited = _cited(check, given)
            if check.passed or (cfg.flag_unsupported and cited):
                shown.append((check, cited))
                yield StreamedSentence(
                    text=check.text,
                    citations=[make_citation(index, given[c].paragraph, hits[c].score) for c in cited],
                    earlier=all(hits[c].chunk.document_id in draft.earlier for c in cited),
                    unsupported="" if check.passed else "; ".join(check.reasons),
                )
    except GenerationFailed as exc:
        failure = exc
    if failure is None and not any(c.passed for c, _ in shown):
        failure = GenerationFailed(
            "nothing_supported",
            f"None of the {len(checks)} generated sentences is supported by the paragraphs it cites.",
        )
    if failure is not None:
        if shown:
            yield Retracted(kind=failure.kind, detail=failure.detail, sentences=len(shown))
        yield draft.extractive.model_copy(update={"generation": _generation(settings, checks, failure)})
        return
    yield assemble(draft, shown, hits, index, _generation(settings, checks, None))


def assemble(
    draft: Draft,
    shown: list[tuple[SentenceCheck, list[str]]],
    hits: dict[str, Hit],
    index: Index,
    generation: Generation,
) -> Answer:
    """Return the generated answer: its sentences in the order written, citations in order of first use, older
    reports' sentences moved apart as history."""
    order = list(dict.fromkeys(c for _, cited in shown for c in cited))
    citations = [make_citation(index, index.paragraphs[hits[c].chunk.key], hits[c].score) for c in order]
    sentences = [
        Sentence(
            text=check.text,
            citations=[order.index(c) for c in cited],
            earlier=all(hits[c].chunk.document_id in draft.earlier for c in cited),
            unsupported="" if check.passed else "; ".join(check.reasons),
        )
        for check, cited in shown
    ]
    answer = Answer(
        question=draft.extractive.question,
        answer=answer_text(sentences),
        answerable=True,
        sentences=sentences,
        citations=citations,
        generation=generation,
    )
    separated = separate_earlier(answer)
    return separated.model_copy(update={"answer": answer_text([*separated.sentences, *separated.earlier])})


def answer_text(sentences: list[Sentence]) -> str:
    """Return the answer text: the current position, then earlier reports; a flagged sentence marked as such."""

    def shown(s: Sentence) -> str:
        return f"[Not supported by the cited paragraphs: {s.text}]" if s.unsupported else s.text

    now = " ".join(shown(s) for s in sentences if not s.earlier)
    before = " ".join(shown(s) for s in sentences if s.earlier)
    if not before:
        return now
    return f"{now} Earlier reports: {before}" if now else f"Earlier reports: {before}"


def finish(answer: Answer, base: Answer, started: float) -> Answer:
    """Return the generated (or fallen back) answer with the pipeline's question, timings and trace carried over,
    and the generation's own time and trace step added."""
    ms = (time.perf_counter() - started) * 1000
    timings = {**base.timings_ms, "generate": ms, "total": base.timings_ms.get("total", 0.0) + ms}
    generation = answer.generation
    trace = None
    if base.trace is not None:
        decision = "generated" if generation and generation.answerer == "llm" else "extractive answer kept"
        why = generation.detail if generation and generation.fallback else "every sentence shown passed the check"
        trace = [*base.trace, TraceStep(stage="compose", decision=f"LLM: {decision}", rule=why)]
    return answer.model_copy(update={"question": base.question, "timings_ms": timings, "trace": trace})


def not_generated(answer: Answer, settings: Settings, condensed: str = "") -> Answer:
    """Return an answer the LLM was not asked to write (a refusal, or one read from a table), saying so."""
    why = (
        "Refused before generation: the LLM never answers a question the judge or the rules refused."
        if not answer.answerable
        else "Read from a table (grades, what to improve): shown as printed, not generated."
    )
    return answer.model_copy(
        update={
            "generation": Generation(
                requested="llm",
                answerer="extractive",
                model=settings.llm.model,
                prompt_version=settings.llm.prompt_version,
                prompt_sha256=prompt_sha256(settings.llm.prompt_version),
                fallback="not_generated",
                detail=why,
                condensed=condensed,
            )
        }
    )
