"""GET /health (liveness), /ready (readiness), /metrics (Prometheus) and POST /feedback."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import EngineDep
from api.engine import Engine
from api.observe import Metrics
from api.schemas import Feedback, Health, Ready
from api.security import ReadKey
from indexer.settings import ApiSettings

router = APIRouter(tags=["service"])
_feedback_lock = threading.Lock()


@router.get("/health", response_model=Health, summary="Liveness and what is loaded")
def health(engine: EngineDep) -> Health:
    """Return 'ok' with the loaded index, or 'no index' (the process is alive either way: see /ready)."""
    index = engine.index
    if index is None:
        return Health(status="no index", index=None, reports=0, paragraphs=0)
    return Health(status="ok", index=str(index.path), reports=len(index.reports), paragraphs=len(index.paragraphs))


@router.get(
    "/ready",
    response_model=Ready,
    summary="Readiness: 200 once the index and models are loaded",
    responses={503: {"model": Ready, "description": "Not ready: no index, models loading, or a reload failed."}},
)
def ready(engine: EngineDep) -> JSONResponse:
    """Return 200 naming the index generation served, or 503 saying what is missing and what to do."""
    body = readiness(engine)
    return JSONResponse(status_code=200 if body.ready else 503, content=body.model_dump())


def readiness(engine: Engine) -> Ready:
    """Return whether the engine can answer: an index and the models loaded, and the last reload worked."""
    served = engine.generation
    if engine.index is None:
        index_dir = engine.settings.index.dir
        why = f"No index is loaded from {index_dir}. Build one with: ofsted-qa index reports/ --index {index_dir}"
        return Ready(ready=False, generation=None, detail=engine.reload_error[1] if engine.reload_error else why)
    if not engine.models_loaded:
        return Ready(ready=False, generation=served, detail="The models are still loading. Try again in a minute.")
    if engine.reload_error is not None:
        failed, why = engine.reload_error
        detail = f"Generation {failed} could not be loaded; still serving {served}. {why}"
        return Ready(ready=False, generation=served, detail=detail)
    return Ready(ready=True, generation=served, detail=f"Serving index generation {served}.")


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request, engine: EngineDep) -> Response:
    """Return the metrics in Prometheus' text format."""
    registry: Metrics = request.app.state.metrics
    index = engine.index
    registry.set_index(engine.generation, len(index.reports) if index else 0, len(index.paragraphs) if index else 0)
    for model, seconds in engine.model_load_s.items():
        registry.model_load.labels(model).set(seconds)
    return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)


def feedback_record(body: Feedback, log_questions: bool) -> dict[str, object]:
    """Return what is stored: the verdict, the cited paragraph and a hash of the question (the text only when the
    operator logs questions)."""
    record: dict[str, object] = {
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "verdict": body.verdict,
        "citation": body.citation.model_dump(),
        "question_sha256": hashlib.sha256(body.question.strip().encode()).hexdigest(),
    }
    if log_questions:
        record |= {"question": body.question, "answer": body.answer}
    return record


def append_rotating(path: Path, line: str, api: ApiSettings) -> None:
    """Append a line, first rotating the file (path.1, path.2, …) when it would pass feedback_max_bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    size = path.stat().st_size if path.exists() else 0
    if size and size + len(line.encode()) > api.feedback_max_bytes:
        for i in range(api.feedback_backups, 0, -1):
            older = path.with_name(f"{path.name}.{i}")
            if i == api.feedback_backups:
                older.unlink(missing_ok=True)
            else:
                newer = path.with_name(f"{path.name}.{i + 1}")
                if older.exists():
                    older.replace(newer)
        if api.feedback_backups:
            path.replace(path.with_name(f"{path.name}.1"))
        else:
            path.unlink()
    with path.open("a", encoding="utf-8") as fh:
        fh.write(line)


@router.post("/feedback", summary="Record a reader's verdict on a citation", dependencies=[ReadKey])
def feedback(body: Feedback, engine: EngineDep) -> dict[str, str]:
    """Record the verdict, the cited paragraph and a hash of the question (question and answer text only when
    OFSTED_QA_API__LOG_QUESTIONS is on) in the feedback file, rotated by size."""
    api = engine.settings.api
    line = json.dumps(feedback_record(body, api.log_questions)) + "\n"
    with _feedback_lock:
        append_rotating(api.feedback_path, line, api)
    return {"status": "recorded"}
