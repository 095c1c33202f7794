"""Request limits: history and rerank caps, the request-body limit and per-client rate limits (token buckets)."""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from indexer.errors import QuestionError
from indexer.models import Turn
from indexer.settings import ApiSettings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

RATE_LIMITED = frozenset({"/ask", "/ask/stream", "/findings", "/feedback"})


def check_history(history: list[Turn], api: ApiSettings) -> None:
    """Raise QuestionError saying what to trim when the history is longer than the server accepts."""
    if len(history) > api.max_history_turns:
        raise QuestionError(
            f"History has {len(history)} turns; the limit is {api.max_history_turns} "
            "(OFSTED_QA_API__MAX_HISTORY_TURNS). Send only the most recent turns."
        )
    for i, turn in enumerate(history):
        if len(turn.question) > api.max_question_chars:
            raise QuestionError(
                f"History turn {i} has a question of {len(turn.question):,} characters; the limit is "
                f"{api.max_question_chars:,} (OFSTED_QA_API__MAX_QUESTION_CHARS). Drop or shorten that turn."
            )
    total = sum(len(t.question) + len(t.answer) for t in history)
    if total > api.max_history_chars:
        raise QuestionError(
            f"History is {total:,} characters; the limit is {api.max_history_chars:,} "
            "(OFSTED_QA_API__MAX_HISTORY_CHARS). Send fewer or shorter earlier turns."
        )


def cap_rerank(requested: int | None, api: ApiSettings) -> int | None:
    """Return the client's rerank_candidates cut to the server's cap (None: the server's default)."""
    return None if requested is None else min(requested, api.max_rerank_candidates)


async def _send_json(send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def body_limit_for(method: str, path: str, api: ApiSettings) -> int:
    """Return the largest body accepted for a request: uploads get their own cap plus room for the form."""
    if method == "POST" and path == "/reports":
        return api.max_upload_bytes + 64 * 1024
    return api.max_body_bytes


class BodyLimitMiddleware:
    """Refuse bodies over the limit with 413, by Content-Length up front or by counting a streamed body."""

    def __init__(self, app: ASGIApp, api: ApiSettings) -> None:
        self.app, self.api = app, api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit_for(scope["method"], scope["path"], self.api)
        setting = "MAX_UPLOAD_BYTES" if limit != self.api.max_body_bytes else "MAX_BODY_BYTES"
        detail = (
            f"Request body is larger than {limit:,} bytes (OFSTED_QA_API__{setting}). "
            "Send a shorter question and history, or a smaller file."
        )
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _send_json(send, 413, detail)
            return
        seen = 0
        started = refused = False

        async def counted() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit and not started:
                    # answer now, and tell the app the client has gone so it stops reading
                    refused = True
                    await _send_json(send, 413, detail)
                    return {"type": "http.disconnect"}
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 is already sent; whatever the app says after is dropped
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counted, tracked)


class TokenBucket:
    """`rate` tokens a second up to `burst`; take() returns 0 when a token was taken, else seconds to wait."""

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate, self.burst, self.tokens, self.at = rate, burst, float(burst), now

    def take(self, now: float) -> float:
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


class RateLimiter:
    """One token bucket per client, in this process; the least recently seen clients are forgotten first."""

    def __init__(self, per_minute: float, burst: int, max_clients: int = 10_000) -> None:
        self.rate, self.burst, self.max_clients = per_minute / 60.0, burst, max_clients
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()
        self._lock = threading.Lock()

    def wait_s(self, client: str, now: float | None = None) -> float:
        """Return 0 when the client may go on, else the seconds until it may."""
        now = time.monotonic() if now is None else now
        with self._lock:
            bucket = self._buckets.pop(client, None) or TokenBucket(self.rate, self.burst, now)
            self._buckets[client] = bucket
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
            return bucket.take(now)


def client_id(scope: Scope, is_key: Callable[[str], bool]) -> str:
    """Return who is asking: a hash of the API key when a valid one is sent, else the client's IP address (an
    invented key must not buy a fresh bucket)."""
    headers = dict(scope["headers"])
    raw = headers.get(b"x-api-key") or headers.get(b"authorization", b"").removeprefix(b"Bearer ").strip()
    key = raw.decode("latin-1")
    if key and is_key(key):
        return "key:" + hashlib.sha256(raw).hexdigest()[:16]
    client = scope.get("client")
    return "ip:" + (client[0] if client else "unknown")


class RateLimitMiddleware:
    """Answer 429 with Retry-After when a client exceeds its rate on the costly endpoints."""

    def __init__(self, app: ASGIApp, api: ApiSettings, is_key: Callable[[str], bool]) -> None:
        self.app, self.api, self.is_key = app, api, is_key
        self.limiter = (
            RateLimiter(api.rate_limit_per_minute, api.rate_limit_burst) if api.rate_limit_per_minute else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.limiter is None or scope["type"] != "http" or scope["path"] not in RATE_LIMITED:
            await self.app(scope, receive, send)
            return
        wait = self.limiter.wait_s(client_id(scope, self.is_key))
        if wait > 0:
            retry = max(1, math.ceil(wait))
            detail = (
                f"Too many requests: the limit is {self.api.rate_limit_per_minute:g} a minute with bursts of "
                f"{self.api.rate_limit_burst} (OFSTED_QA_API__RATE_LIMIT_PER_MINUTE). Retry in {retry} s."
            )
            await _send_json(send, 429, detail, [(b"retry-after", str(retry).encode())])
            return
        await self.app(scope, receive, send)
