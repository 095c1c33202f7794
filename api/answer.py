"""Answering: question → understand → scope → retrieve → judge → compose → verify, one module a stage.

No LLM: every answer sentence is either a sentence copied from a cited paragraph or a grade read from a cited
judgement table, so each one is traceable to the paragraph it came from. When the judge finds no candidate that
answers, the answer says the reports do not cover the question and lists the closest paragraphs separately.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from api.citations import verify_citations
from api.compose import compose_answer, describe_indexed, refusal
from api.judge import decide, load_judge, logit
from api.names import unknown_acronyms, unknown_names, unmentioned_terms
from api.retrieve import carried_hits, elapsed_ms, first_stage, latest_report_hits, rerank_cascade, rerank_query
from api.scope import in_scope_reports, question_scope
from api.tables import (
    compose_grade_answer,
    compose_grade_extreme_answer,
    compose_grade_history_answer,
    compose_grade_list_answer,
    compose_improve_answer,
    no_grades_answer,
)
from api.understand import (
    about_grades,
    asks_for_grade,
    outside_remit,
    ungraded_only,
)
from indexer.errors import QuestionError
from indexer.models import (
    Answer,
    Hit,
    TraceStep,
    Turn,
    separate_earlier,
)
from indexer.settings import Settings
from indexer.store import Filters, Index
from prompts import load

if TYPE_CHECKING:
    from indexer.embed import Embedder, Reranker


def check_question(question: str, max_chars: int) -> str:
    """Return the question stripped, or raise QuestionError saying what to change."""
    q = question.strip()
    if not q:
        raise QuestionError("The question is empty. Type a question about the inspection reports.")
    if len(q) > max_chars:
        raise QuestionError(
            f"Question is {len(q):,} characters; the limit is {max_chars:,} (OFSTED_QA_API__MAX_QUESTION_CHARS). "
            "Shorten it to the point you want answered."
        )
    return q


def answer_question(
    question: str,
    index: Index,
    embedder: Embedder,
    reranker: Reranker | None,
    settings: Settings,
    filters: Filters | None = None,
    history: list[Turn] | None = None,
    rerank_candidates: int | None = None,
    debug: bool = False,
    generate: Callable[[str, list[Hit], Answer], Answer] | None = None,
) -> Answer:
    """Return the cited answer to a question, or a refusal with the closest paragraphs.

    understand and scope (question_scope) → rule answers read from a table (grades, what to improve) →
    retrieve (first_stage) → rerank → judge (one learned answer-or-refuse decision) → compose → verify.
    `generate` (the LLM answerer, api/generate.py) is called with the resolved question, the reranked hits and the
    verified extractive answer, only when that answer answers; what it returns is the answer.
    """
    trace: list[TraceStep] = []
    timings: dict[str, float] = {}
    t0 = time.perf_counter()

    def done(answer: Answer) -> Answer:
        timings["total"] = elapsed_ms(t0)
        return answer.model_copy(update={"question": asked, "timings_ms": timings, "trace": trace if debug else None})

    asked = check_question(question, settings.api.max_question_chars)
    resolved, scope = question_scope(asked, index, filters, history)
    q = resolved.question  # the follow-up asked in context; the answer still quotes the user's own words
    trace.append(TraceStep(stage="understand", decision=f"asked as: {q}", rule="follow-up" if q != asked else ""))
    service = outside_remit(q)
    if service is not None:
        trace.append(
            TraceStep(stage="understand", decision="refuse", rule=f"outside children's social care: {service}")
        )
        return done(
            Answer(answer=load("outside_remit").format(service=service), answerable=False, sentences=[], citations=[])
        )
    if scope.filters.document_ids == []:
        trace.append(TraceStep(stage="scope", decision="no indexed report in scope", rule=scope.note))
        text = load("out_of_scope").format(what=scope.note or "the question", indexed=describe_indexed(index))
        return done(Answer(answer=text, answerable=False, sentences=[], citations=[]))
    trace.append(TraceStep(stage="scope", decision=scope.filters.model_dump_json(exclude_none=True)))
    in_scope = in_scope_reports(index, scope)
    if asks_for_grade(q) and ungraded_only(in_scope):
        trace.append(TraceStep(stage="understand", decision="no grades", rule="a grade asked of an ungraded kind"))
        return done(no_grades_answer(in_scope, index))
    if settings.answer.term_rules:
        unknown = unknown_acronyms(asked, index) or unknown_names(q, index, scope) or unmentioned_terms(q, index, scope)
        if unknown:
            trace.append(TraceStep(stage="judge", decision="refuse", rule=f"names nothing indexed: {unknown[:3]}"))
            return done(refusal(asked, [], index, settings))
    direct = (
        compose_grade_list_answer(q, index, scope)
        or compose_grade_history_answer(q, index, scope)
        or compose_grade_extreme_answer(q, index, scope)
        or compose_grade_answer(q, index, scope)
        or compose_improve_answer(q, index, scope)
    )
    if direct is not None:
        trace.append(TraceStep(stage="compose", decision="read from a table", rule="grade or improvement question"))
        checked = verify_citations(direct, index, {(c.document_id, c.paragraph) for c in direct.citations})
        return done(checked)

    t = time.perf_counter()
    stage = first_stage(q, index, embedder, settings, scope)
    timings["embed"] = stage.embed_ms
    n = settings.retrieval.rerank_candidates if rerank_candidates is None else rerank_candidates
    carried: list[Hit] = []
    if n > 0 and reranker is not None:  # extra candidates are for the cross-encoder to judge, never unjudged
        carried = carried_hits(resolved.carried, index, scope.filters, stage.fused)
        carried += latest_report_hits(q, stage.expanded, stage.vector, stage.fused, index, scope, settings, carried)
    timings["retrieve"] = elapsed_ms(t) - stage.embed_ms
    trace.append(
        TraceStep(
            stage="retrieve",
            decision=f"{len(stage.fused)} fused candidates, {n + len(carried)} to rerank",
            scores={f"{h.chunk.document_id}#{h.chunk.paragraph}": round(h.score, 4) for h in stage.fused[:5]},
        )
    )
    t = time.perf_counter()
    judge_file = reranker.judge_path() if reranker is not None else None
    # the fine-tuned cross-encoder learnt everyday words: it reads the question as asked
    first = rerank_query(q, stage.expanded, settings.retrieval.rerank_expanded)
    candidates = carried + stage.fused
    if not about_grades(q):  # the judgement table answers grade questions only
        candidates = [h for h in candidates if h.chunk.paragraph != "judgements"]
    ranked = rerank_cascade(
        first,
        candidates,
        index,
        reranker,
        n + len(carried),
        settings.retrieval.rerank_first + len(carried) if settings.retrieval.rerank_first else 0,
        settings.retrieval.rerank_enough_logit,
    )
    timings["rerank"] = elapsed_ms(t)
    reranked = n > 0 and reranker is not None
    if reranked and ranked:
        logits = [logit(h.score) for h in ranked if h.branch == "reranked"]
        if judge_file is not None:
            verdict = decide(load_judge(judge_file), logits, settings.answer.judge_threshold)
            passed, why = verdict.answer, "learned judge"
            scores = {"probability": verdict.probability, "threshold": verdict.threshold, **verdict.features}
        else:
            passed, why = ranked[0].score >= settings.answer.min_paragraph_score, "stock cross-encoder threshold"
            scores = {"top_logit": round(max(logits, default=-20.0), 3)}
        trace.append(TraceStep(stage="judge", decision="answer" if passed else "refuse", rule=why, scores=scores))
        if not passed:
            return done(refusal(q, ranked, index, settings))
    retrieved = {h.chunk.key for h in ranked}
    answer = compose_answer(q, ranked, index, settings, reranked=reranked)
    trace.append(
        TraceStep(
            stage="compose",
            decision="cited " + ", ".join(f"{c.document_id}#{c.paragraph}" for c in answer.citations) or "nothing",
            rule="" if answer.answerable else "the answer type asked for is missing",
        )
    )
    answer = separate_earlier(verify_citations(answer, index, retrieved))
    if answer.answerable and not answer.sentences:
        trace.append(TraceStep(stage="verify", decision="refuse", rule="no citation survived verification"))
        answer = refusal(q, ranked, index, settings)
    else:
        trace.append(TraceStep(stage="verify", decision=f"{len(answer.citations)} citations verified"))
        if generate is not None and answer.answerable:  # never for compose's refusal (an answer type missing)
            answer = generate(q, ranked, answer)
    return done(answer)
