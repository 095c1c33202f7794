"""A scripted OpenAI-compatible chat server on loopback: a real HTTP peer (uvicorn) that answers
/v1/chat/completions with what a test scripts, streamed or whole, and records every request it gets."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

Script = Callable[[dict[str, Any]], str]


def given_labels(request: dict[str, Any]) -> list[str]:
    """Return the paragraph labels the request's prompt gave, in prompt order."""
    user = next(m["content"] for m in request["messages"] if m["role"] in ("user", "human"))
    return re.findall(r"^\[([^\]]+)\]", user, re.M)


def reply(*sentences: tuple[str, list[str]], cannot_answer: bool = False) -> str:
    """Return a well-formed answer: each (text, labels) a sentence."""
    return json.dumps(
        {"sentences": [{"text": t, "labels": labels} for t, labels in sentences], "cannot_answer": cannot_answer}
    )


class ScriptedLLM:
    """Serve `script(request) -> content` as an OpenAI-compatible chat endpoint, after `delay_s`."""

    def __init__(self) -> None:
        from tests.conftest import free_port

        self.script: Script = lambda request: reply()
        self.delay_s = 0.0
        self.requests: list[dict[str, Any]] = []
        app = FastAPI()

        @app.post("/v1/chat/completions", response_model=None)
        async def completions(request: Request) -> JSONResponse | StreamingResponse:
            body = await request.json()
            self.requests.append(body)
            content = self.script(body)
            await asyncio.sleep(self.delay_s)
            if not body.get("stream"):
                return JSONResponse(_completion(body, content))
            return StreamingResponse(_chunks(body, content), media_type="text/event-stream")

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ScriptedLLM:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the scripted LLM server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def answer(self, script: Script | str, delay_s: float = 0.0) -> None:
        """Script the next replies: a fixed content or a function of the request."""
        self.script = script if callable(script) else (lambda request: script)
        self.delay_s = delay_s
        self.requests.clear()


def _completion(body: dict[str, Any], content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": 0,
        "model": body.get("model", "scripted"),
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"},
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


async def _chunks(body: dict[str, Any], content: str) -> Any:
    """Yield the content as OpenAI stream chunks of a few characters each, then [DONE]."""
    base = {"id": "chatcmpl-scripted", "object": "chat.completion.chunk", "created": 0, "model": body.get("model")}
    pieces = [content[i : i + 7] for i in range(0, len(content), 7)] or [""]
    for i, piece in enumerate(pieces):
        delta = {"role": "assistant", "content": piece} if i == 0 else {"content": piece}
        chunk = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
        yield f"data: {json.dumps(chunk)}\n\n"
        await asyncio.sleep(0)
    end = {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    yield f"data: {json.dumps(end)}\n\n"
    yield "data: [DONE]\n\n"
