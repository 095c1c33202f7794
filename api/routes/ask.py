"""POST /ask and POST /ask/stream (server-sent events, one per answer sentence)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.deps import EngineDep
from api.engine import Engine
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
    return engine.ask(body.question, body.filters, body.history, rerank, debug)


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
    """Stream `sentence` events (text + full citations) as soon as the answer is ready, then `done`."""
    engine.require_index()
    check_history(body.history, engine.settings.api)

    try:
        answer = await run_in_threadpool(_answer, engine, body)
        _record(request, engine, body, answer)
    except OfstedQAError as exc:
        detail = str(exc)

        def failed() -> Iterator[str]:
            yield _sse("error", {"detail": detail})

        return StreamingResponse(failed(), media_type="text/event-stream")

    def events() -> Iterator[str]:
        payload = answer.model_dump(mode="json")
        # the current position first, then the history, numbered on: the page shows them in this order
        shown = [(s, payload["citations"]) for s in payload["sentences"]]
        shown += [(s, payload["earlier_citations"]) for s in payload["earlier"]]
        for i, (sentence, citations) in enumerate(shown):
            cited = [citations[j] for j in sentence["citations"]]
            yield _sse(
                "sentence", {"index": i, "text": sentence["text"], "citations": cited, "earlier": sentence["earlier"]}
            )
        yield _sse("done", payload)

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})
