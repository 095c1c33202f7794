"""POST /ask and POST /ask/stream (server-sent events, one per answer sentence)."""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.deps import EngineDep
from api.engine import Engine
from api.generate import Retracted, StreamedSentence
from api.limits import cap_rerank, check_history
from api.observe import Metrics
from api.schemas import AskRequest
from api.security import ReadKey
from indexer.errors import OfstedQAError
from indexer.models import Answer

router = APIRouter(tags=["answers"], dependencies=[ReadKey])
log = logging.getLogger("ofsted_qa")


def _answer(engine: Engine, body: AskRequest, debug: bool = False) -> Answer:
    """Check the history, cap the client's rerank request, answer (in a worker thread)."""
    check_history(body.history, engine.settings.api)
    rerank = cap_rerank(body.rerank_candidates, engine.settings.api)
    return engine.ask(body.question, body.filters, body.history, rerank, debug, body.answerer)


def _record(request: Request, engine: Engine, body: AskRequest, answer: Answer) -> None:
    """Count the answer's stages and log one line: timings and outcome, the question only when allowed."""
    metrics: Metrics = request.app.state.metrics
    metrics.observe_answer(answer)
    extra: dict[str, object] = {
        "answerable": answer.answerable,
        "citations": len(answer.citations),
        "timings_ms": {k: round(v, 1) for k, v in answer.timings_ms.items()},
        "question_chars": len(body.question),
    }
    if engine.settings.api.log_questions:
        extra["question"] = body.question
    log.info("answered" if answer.answerable else "refused", extra=extra)


@router.post("/ask", response_model=Answer, summary="Answer a question with cited paragraphs")
async def ask(body: AskRequest, engine: EngineDep, request: Request) -> Answer:
    """Return the answer; every sentence cites the paragraphs it came from, or a refusal with the closest."""
    # inference runs in a worker thread so the event loop keeps serving other requests
    answer = await run_in_threadpool(_answer, engine, body, body.debug)
    _record(request, engine, body, answer)
    return answer


def _sse(event: str, data: object) -> str:
    return f"event: {event}\ndata: {json.dumps(data, default=str)}\n\n"


@router.post("/ask/stream", summary="Answer as server-sent events: one per sentence, then done")
async def ask_stream(body: AskRequest, engine: EngineDep, request: Request) -> StreamingResponse:
    """Stream `sentence` events (text + full citations), then `done` with the whole answer. With the LLM
    answerer each sentence goes out as soon as the model has written it and it has passed the check; if generation
    then fails, a `fallback` event withdraws what was sent and the extractive answer's sentences follow."""
    engine.require_index()
    check_history(body.history, engine.settings.api)
    rerank = cap_rerank(body.rerank_candidates, engine.settings.api)
    events = engine.answer_events(body.question, body.filters, body.history, rerank, body.debug, body.answerer)
    try:
        # the answer up to its first event (the pipeline, and with the LLM its first sentence) before replying,
        # so that a project error is still an `error` event, not a broken stream
        first = await run_in_threadpool(next, events)
    except OfstedQAError as exc:
        detail = str(exc)

        def failed() -> Iterator[str]:
            yield _sse("error", {"detail": detail})

        return StreamingResponse(failed(), media_type="text/event-stream")

    def stream() -> Iterator[str]:  # a sync generator: Starlette runs it in a worker thread
        sent: list[str] = []
        for event in itertools.chain([first], events):
            if isinstance(event, StreamedSentence):
                yield _sse("sentence", {"index": len(sent), **event.model_dump(mode="json")})
                sent.append(event.text)
            elif isinstance(event, Retracted):
                yield _sse("fallback", event.model_dump(mode="json"))
                sent = []
            else:
                _record(request, engine, body, event)
                yield from _answer_events(event, sent)

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


def _answer_events(answer: Answer, streamed: list[str]) -> Iterator[str]:
    """Return a whole answer's `sentence` events, less those already streamed at the same index, then `done`."""
    payload = answer.model_dump(mode="json")
    # the current position first, then the history, numbered on: the page shows them in this order
    shown = [(s, payload["citations"]) for s in payload["sentences"]]
    shown += [(s, payload["earlier_citations"]) for s in payload["earlier"]]
    for i, (sentence, citations) in enumerate(shown):
        if i < len(streamed) and streamed[i] == sentence["text"]:
            continue
        cited = [citations[j] for j in sentence["citations"]]
        yield _sse(
            "sentence",
            {
                "index": i,
                "text": sentence["text"],
                "citations": cited,
                "earlier": sentence["earlier"],
                "unsupported": sentence["unsupported"],
            },
        )
    yield _sse("done", payload)
