"""Observability: Prometheus metrics, JSON log lines and the request id that ties a request's lines together."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import uuid
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from api.limits import ASGIApp, Message, Receive, Scope, Send
from indexer.models import Answer

log = logging.getLogger("ofsted_qa")
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_STAGE = re.compile(r"^[a-z_]{1,32}$")
# e.g. a refusal before retrieval takes ~5 ms, a reranked answer 0.2-1.5 s on 2 cores
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """The service's Prometheus metrics, in a registry of their own (one per app)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "ofsted_qa_requests",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "ofsted_qa_request_seconds",
            "Time to answer a request, by route template.",
            ["route"],
            buckets=_BUCKETS,
            registry=r,
        )
        self.stage = Histogram(
            "ofsted_qa_answer_stage_seconds",
            "Time in each stage of answering (embed, retrieve, rerank…), from the answer's timings_ms.",
            ["stage"],
            buckets=_BUCKETS,
            registry=r,
        )
        self.answers = Counter("ofsted_qa_answers", "Questions answered, by outcome.", ["outcome"], registry=r)
        self.generation = Gauge(
            "ofsted_qa_index_generation", "1 for the index generation being served.", ["generation"], registry=r
        )
        self.reports = Gauge("ofsted_qa_index_reports", "Reports in the index being served.", registry=r)
        self.paragraphs = Gauge("ofsted_qa_index_paragraphs", "Paragraphs in the index being served.", registry=r)
        self.reloads = Counter(
            "ofsted_qa_index_reloads", "Index generations loaded, by outcome.", ["outcome"], registry=r
        )
        self.model_load = Gauge(
            "ofsted_qa_model_load_seconds", "Seconds taken to load (and warm) each model.", ["model"], registry=r
        )

    def observe_answer(self, answer: Answer) -> None:
        """Count the answer or refusal and record the time of each stage it went through."""
        self.answers.labels("answered" if answer.answerable else "refused").inc()
        for stage, ms in answer.timings_ms.items():
            if stage != "total" and _STAGE.match(stage):
                self.stage.labels(stage).observe(ms / 1000.0)

    def set_index(self, generation: str | None, reports: int, paragraphs: int) -> None:
        """Show the generation now served (and only it) with its size."""
        self.generation.clear()
        if generation:
            self.generation.labels(generation).set(1)
        self.reports.set(reports)
        self.paragraphs.set(paragraphs)


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path:
        return str(path)
    return "static" if route is not None else "unmatched"


class ObserveMiddleware:
    """Give each request an id (X-Request-ID or a new one), echo it, count and time it, and log one line."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = given if _SAFE_ID.match(given) else uuid.uuid4().hex
        token = request_id.set(rid)
        status = 500
        started = time.perf_counter()

        async def tagged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, tagged)
        finally:
            seconds = time.perf_counter() - started
            route = _route_of(scope)
            self.metrics.requests.labels(route, scope["method"], str(status)).inc()
            self.metrics.latency.labels(route).observe(seconds)
            log.info(
                "request",
                extra={"method": scope["method"], "route": route, "status": status, "ms": round(seconds * 1000, 1)},
            )
            request_id.reset(token)


_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request_id and any extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id.get(),
        }
        out.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def log_config(fmt: str = "json", level: str = "INFO") -> dict[str, Any]:
    """Return a logging dictConfig for our logger and uvicorn's (uvicorn.run(log_config=…) takes it as is)."""
    formatter = {"()": JsonFormatter} if fmt == "json" else {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    handler = {"class": "logging.StreamHandler", "formatter": "main", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": formatter},
        "handlers": {"main": handler},
        "loggers": {
            "ofsted_qa": {"handlers": ["main"], "level": level, "propagate": False},
            "uvicorn": {"handlers": ["main"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            # our middleware logs each request with its id, route and time; uvicorn's own line would repeat it
            "uvicorn.access": {"handlers": ["main"], "level": "WARNING", "propagate": False},
        },
    }
