"""The FastAPI app: create_app(settings) with a lifespan that loads the index and models once."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from api.engine import Engine
from api.routes import ask, findings, health, reports
from indexer.errors import (
    IndexMismatchError,
    IndexNotFoundError,
    NotFoundError,
    OfstedQAError,
    QuestionError,
)
from indexer.settings import Settings, get_settings

STATIC = Path(__file__).resolve().parent / "static"
log = logging.getLogger("ofsted_qa")

_STATUS = {
    IndexNotFoundError: 503,
    IndexMismatchError: 503,
    NotFoundError: 404,
    QuestionError: 422,
}


def create_app(settings: Settings | None = None, engine: Engine | None = None, build_default: bool = True) -> FastAPI:
    """Return the app; the engine (index + models) is loaded in the lifespan, or taken as given."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        eng = engine or Engine(settings)
        app.state.engine = eng
        if eng.index is None:
            try:
                await run_in_threadpool(eng.load, build_default)
            except OfstedQAError as exc:
                log.warning("%s", exc)  # served as 503 with the same sentence
        await run_in_threadpool(eng.warm_up)
        yield

    app = FastAPI(
        title="ofsted-qa",
        description="Questions answered from Ofsted reports on children's services, every sentence cited to its "
        "paragraph. Contains public sector information licensed under the Open Government Licence v3.0. "
        "Source: Ofsted.",
        version="0.1.0",
        lifespan=lifespan,
    )

    @app.exception_handler(OfstedQAError)
    async def project_error(request: Request, exc: OfstedQAError) -> JSONResponse:
        status = next((code for cls, code in _STATUS.items() if isinstance(exc, cls)), 400)
        return JSONResponse(status_code=status, content={"detail": str(exc)})

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors():
            where = ".".join(str(x) for x in err.get("loc", ()) if x != "body")
            parts.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
        return JSONResponse(status_code=422, content={"detail": "Invalid request: " + "; ".join(parts) + "."})

    if settings.api.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.api.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type"],
        )

    app.include_router(ask.router)
    app.include_router(reports.router)
    app.include_router(findings.router)
    app.include_router(health.router)

    if STATIC.is_dir():
        # last, so API routes win: serves /, /app.js, /style.css, /widget.js, /example-host.html
        app.mount("/", StaticFiles(directory=STATIC, html=True), name="static")

    return app
