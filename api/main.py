"""The FastAPI app: create_app(settings) with a lifespan that loads the index and models once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.engine import Engine
from api.jobs import Jobs
from api.limits import BodyLimitMiddleware, RateLimitMiddleware
from api.observe import Metrics, ObserveMiddleware
from api.routes import admin, ask, findings, health, reports
from api.security import KeyRing
from indexer.errors import (
    AnswererError,
    IndexMismatchError,
    IndexNotFoundError,
    NotFoundError,
    OfstedQAError,
    QuestionError,
    ReportParseError,
    TooLargeError,
)
from indexer.settings import ApiSettings, Settings, get_settings

STATIC = Path(__file__).resolve().parent / "static"
log = logging.getLogger("ofsted_qa")

_STATUS = {
    AnswererError: 422,
    IndexNotFoundError: 503,
    IndexMismatchError: 503,
    NotFoundError: 404,
    QuestionError: 422,
    ReportParseError: 422,
    TooLargeError: 413,
}


_EXAMPLE = '{"question": "How were care leavers judged?"}'


def validation_detail(errors: list[dict[str, object]], max_question_chars: int | None) -> str:
    """Return one sentence naming each invalid field and what is wrong with it (a question over the limit in
    /ask: the setting that sets the limit, when max_question_chars is given)."""
    parts = []
    for err in errors:
        loc = [str(x) for x in err.get("loc", ()) if x != "body"]  # type: ignore[attr-defined]
        if max_question_chars and loc == ["question"] and err.get("type") == "string_too_long":
            chars = len(str(err.get("input", "")))
            return (
                f"Question is {chars:,} characters; the limit is {max_question_chars:,} "
                "(OFSTED_QA_API__MAX_QUESTION_CHARS). Shorten it to the point you want answered."
            )
        where = ".".join(loc)
        msg = str(err.get("msg"))
        kind = err.get("type")
        if kind in ("model_attributes_type", "dict_type") and not where:
            msg = "the body must be a JSON object, e.g. " + _EXAMPLE
        elif kind == "json_invalid":
            where, msg = (
                "",
                f"the body is not valid JSON (error at character {loc[0] if loc else '?'}); send " + _EXAMPLE,
            )
        elif kind == "missing" and not where:
            msg = "the body is missing; send a JSON object, e.g. " + _EXAMPLE
        parts.append(f"{where}: {msg}" if where else msg)
    return "Invalid request: " + "; ".join(parts) + "."


def document_limits(schema: dict[str, Any], api: ApiSettings) -> dict[str, Any]:
    """Return the OpenAPI schema with this server's limits on a question and its history (the model's own
    ceilings are wider, so one schema serves every configuration)."""
    ask_schema = schema.get("components", {}).get("schemas", {}).get("AskRequest", {}).get("properties", {})
    if "question" in ask_schema:
        ask_schema["question"]["maxLength"] = api.max_question_chars
    if "history" in ask_schema:
        ask_schema["history"]["maxItems"] = api.max_history_turns
    return schema


async def watch_generations(engine: Engine, metrics: Metrics, poll_s: float) -> None:
    """Load each new generation another process (ofsted-qa index, cron, a second server) makes live."""
    while True:
        await asyncio.sleep(poll_s)
        try:
            outcome = await run_in_threadpool(engine.reload_if_changed)
        except Exception:  # the watcher must outlive any one failed look
            log.exception("checking the index directory failed")
            continue
        if outcome is not None:
            metrics.reloads.labels("loaded" if outcome else "failed").inc()


def create_app(settings: Settings | None = None, engine: Engine | None = None, build_default: bool = True) -> FastAPI:
    """Return the app; the engine (index + models) is loaded in the lifespan, or taken as given."""
    settings = settings or get_settings()

    metrics = Metrics()
    keys = KeyRing.from_settings(settings.api)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        eng = engine or Engine(settings)
        app.state.engine = eng
        app.state.jobs = Jobs(eng)
        if eng.index is None:
            try:
                await run_in_threadpool(eng.load, build_default)
            except IndexMismatchError:
                raise  # a damaged or foreign index: refuse to start (the sentence says how to rebuild)
            except OfstedQAError as exc:
                log.warning("%s", exc)  # no index yet: served as 503 with the same sentence until one appears
        await run_in_threadpool(eng.warm_up)
        watcher = None
        if settings.api.reload_poll_s > 0:
            watcher = asyncio.create_task(watch_generations(eng, metrics, settings.api.reload_poll_s))
        yield
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        await run_in_threadpool(app.state.jobs.shutdown)

    app = FastAPI(
        title="ofsted-qa",
        description="Questions answered from Ofsted reports on children's services, every sentence cited to its "
        "paragraph. Contains public sector information licensed under the Open Government Licence v3.0. "
        "Source: Ofsted.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings, app.state.metrics, app.state.keys = settings, metrics, keys
    plain_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_limits(plain_openapi(), settings.api)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(OfstedQAError)
    async def project_error(request: Request, exc: OfstedQAError) -> JSONResponse:
        status = next((code for cls, code in _STATUS.items() if isinstance(exc, cls)), 400)
        return JSONResponse(status_code=status, content={"detail": str(exc)})

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        asking = request.url.path in ("/ask", "/ask/stream")
        detail = validation_detail(list(exc.errors()), settings.api.max_question_chars if asking else None)
        ctype = request.headers.get("content-type", "")
        in_body = any(tuple(e.get("loc", ()))[:1] == ("body",) for e in exc.errors())
        if in_body and request.url.path != "/reports" and not ctype.startswith("application/json"):
            detail = (
                "Invalid request: send the body as a JSON object with 'Content-Type: application/json' (this "
                f"request sent '{ctype[:60] or 'no content type'}'), e.g. {_EXAMPLE}."
            )
        return JSONResponse(status_code=422, content={"detail": detail})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"Nothing at {request.url.path[:100]}. The API's paths are listed at /docs."
        elif exc.status_code == 400 and request.url.path == "/reports":
            detail = (
                f"The upload could not be read ({detail}). Send the report as multipart/form-data with the file in "
                "a field named 'file', e.g. curl -F file=@report.pdf -H 'Authorization: Bearer <key>' …/reports."
            )
        elif exc.status_code == 405 and detail == "Method Not Allowed":
            allowed = (exc.headers or {}).get("Allow", "")
            detail = f"{request.method} is not allowed on {request.url.path[:100]}; use {allowed or 'another method'}."
        return JSONResponse(status_code=exc.status_code, content={"detail": detail}, headers=exc.headers)

    if settings.api.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.api.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Content-Type", "Authorization", "X-API-Key", "X-Request-ID"],
        )

    # the last added runs first: every request gets an id and is counted, even one refused as too big or too fast
    app.add_middleware(RateLimitMiddleware, api=settings.api, is_key=keys.check)
    app.add_middleware(BodyLimitMiddleware, api=settings.api)
    app.add_middleware(ObserveMiddleware, metrics=metrics)

    app.include_router(admin.router)
    app.include_router(ask.router)
    app.include_router(reports.router)
    app.include_router(findings.router)
    app.include_router(health.router)

    if STATIC.is_dir():
        # last, so API routes win: serves /, /app.js, /style.css, /widget.js, /example-host.html
        app.mount("/", StaticFiles(directory=STATIC, html=True), name="static")

    return app
