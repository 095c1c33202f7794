"""POST /ask and POST /ask/stream (server-sent events, one per answer sentence)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.deps import EngineDep
from api.schemas import AskRequest
from indexer.errors import OfstedQAError
from indexer.models import Answer

router = APIRouter(tags=["answers"])
log = logging.getLogger("ofsted_qa")


def _log(engine: EngineDep, body: AskRequest) -> None:
    if engine.settings.api.log_questions:
        log.info("question: %s", body.question)
    else:
        log.info("question received (%d characters; text not logged)", len(body.question))


@router.post("/ask", response_model=Answer, summary="Answer a question with cited paragraphs")
async def ask(body: AskRequest, engine: EngineDep) -> Answer:
    """Return the answer; every sentence cites the paragraphs it came from, or a refusal with the closest."""
    _log(engine, body)
    # inference runs in a worker thread so the event loop keeps serving other requests
    return await run_in_threadpool(
        engine.ask, body.question, body.filters, body.history, body.rerank_candidates, body.debug
    )


def _sse(event: str, data: object) -> str:
    return f"event: {event}\ndata: {json.dumps(data, default=str)}\n\n"


@router.post("/ask/stream", summary="Answer as server-sent events: one per sentence, then done")
async def ask_stream(body: AskRequest, engine: EngineDep) -> StreamingResponse:
    """Stream `sentence` events (text + full citations) as soon as the answer is ready, then `done`."""
    _log(engine, body)
    engine.require_index()

    try:
        answer = await run_in_threadpool(engine.ask, body.question, body.filters, body.history, body.rerank_candidates)
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
