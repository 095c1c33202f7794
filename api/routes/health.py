"""GET /health and POST /feedback."""

from __future__ import annotations

import datetime as dt
import json
import threading

from fastapi import APIRouter

from api.deps import EngineDep
from api.schemas import Feedback, Health

router = APIRouter(tags=["service"])
_feedback_lock = threading.Lock()


@router.get("/health", response_model=Health, summary="Liveness and what is loaded")
def health(engine: EngineDep) -> Health:
    """Return 'ok' with the loaded index, or 'no index'."""
    index = engine.index
    if index is None:
        return Health(status="no index", index=None, reports=0, paragraphs=0)
    return Health(status="ok", index=str(index.path), reports=len(index.reports), paragraphs=len(index.paragraphs))


@router.post("/feedback", summary="Record a reader's verdict on a citation")
def feedback(body: Feedback, engine: EngineDep) -> dict[str, str]:
    """Append the question, answer, citation and verdict to the local feedback JSONL file."""
    path = engine.settings.api.feedback_path
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **body.model_dump()}
    with _feedback_lock, path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")
    return {"status": "recorded"}
