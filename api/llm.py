"""The LLM: any OpenAI-compatible chat endpoint behind LangChain's chat-model interface, asked for structured
answers (sentences, each with the paragraph labels it relies on) and for standalone follow-up questions.

Every way a call can go wrong ends in one GenerationFailed with a kind and a sentence: the caller then shows the
extractive answer, with that sentence in the response.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from indexer.models import Turn
from indexer.settings import LlmSettings
from prompts import answer_prompt, condense_prompt

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

log = logging.getLogger("ofsted_qa")

FailureKind = Literal["timeout", "model_refused", "malformed", "nothing_supported", "error"]


class GenerationFailed(Exception):
    """The model gave no usable answer: timed out, declined, wrote malformed output, or the call failed."""

    def __init__(self, kind: FailureKind, detail: str) -> None:
        super().__init__(detail)
        self.kind: FailureKind = kind
        self.detail = detail


class LlmSentence(BaseModel):
    """One sentence as the model wrote it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    text: str = Field(min_length=1, max_length=2000, description="One sentence of the answer.")
    labels: list[str] = Field(default_factory=list, description="Labels of the paragraphs it relies on.")


class LlmAnswer(BaseModel):
    """The model's whole answer."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    sentences: list[LlmSentence] = Field(max_length=12, description="The answer's sentences.")
    cannot_answer: bool = Field(default=False, description="True when the paragraphs do not answer the question.")


def response_format(settings: LlmSettings, labels: list[str]) -> dict[str, Any] | None:
    """Return the request's response_format: the answer's JSON schema, its labels limited to those given."""
    schema = {
        "type": "object",
        "properties": {
            "sentences": {
                "type": "array",
                "maxItems": 6,
                "items": {
                    "type": "object",
                    "properties": {
                        "text": {"type": "string"},
                        "labels": {"type": "array", "minItems": 1, "items": {"type": "string", "enum": labels}},
                    },
                    "required": ["text", "labels"],
                    "additionalProperties": False,
                },
            },
            "cannot_answer": {"type": "boolean"},
        },
        "required": ["sentences", "cannot_answer"],
        "additionalProperties": False,
    }
    if settings.response_format == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": "cited_answer", "schema": schema}}
    if settings.response_format == "json_object":
        return {"type": "json_object", "schema": schema}  # llama.cpp's server turns the schema into a grammar
    return None


def chat_model(settings: LlmSettings) -> BaseChatModel:
    """Return the chat model for the configured endpoint (no retries: a slow endpoint falls back at once)."""
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=settings.model,
        base_url=settings.base_url,
        api_key=settings.api_key.get_secret_value() or "none",  # type: ignore[arg-type]
        timeout=settings.timeout_s,
        max_retries=0,
        temperature=settings.temperature,
        max_tokens=settings.max_tokens,  # type: ignore[call-arg]
    )


_FENCE = re.compile(r"^\s*```(?:json)?\s*|\s*```\s*$")
_DECLINES = re.compile(
    r"^\W*(?:i(?:'m| am) sorry|sorry|i can(?:no|')t|i cannot|i am unable|i'm unable|unable to|as an ai)", re.I
)


def parse_answer(text: str) -> LlmAnswer:
    """Return the model's answer parsed and validated, or raise GenerationFailed saying what was wrong with it."""
    body = _FENCE.sub("", text.strip())
    if not body.startswith("{") and _DECLINES.search(body):
        raise GenerationFailed("model_refused", f"The model declined to answer: {body[:160]!r}.")
    try:
        answer = LlmAnswer.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first.get("loc", ())) or "the output"
        raise GenerationFailed(
            "malformed", f"The model's output is not the JSON asked for ({where}: {first['msg']}): {body[:160]!r}."
        ) from exc
    if answer.cannot_answer or not answer.sentences:
        raise GenerationFailed("model_refused", "The model said the paragraphs do not answer the question.")
    return answer


def complete_sentences(text: str) -> list[dict[str, Any]]:
    """Return the sentence objects of a partial JSON answer that are complete: every one but the last started."""
    from langchain_core.utils.json import parse_partial_json

    try:
        partial = parse_partial_json(_FENCE.sub("", text.strip()))
    except (json.JSONDecodeError, ValueError):
        return []
    if not isinstance(partial, dict) or not isinstance(partial.get("sentences"), list):
        return []
    return [s for s in partial["sentences"][:-1] if isinstance(s, dict)]


def _classify(exc: Exception, settings: LlmSettings) -> GenerationFailed:
    import httpx
    import openai

    if isinstance(exc, GenerationFailed):
        return exc
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException | TimeoutError):
        return GenerationFailed(
            "timeout", f"The model did not answer within {settings.timeout_s:g} s (OFSTED_QA_LLM__TIMEOUT_S)."
        )
    if isinstance(exc, openai.APIConnectionError):
        return GenerationFailed(
            "error",
            f"The LLM endpoint {settings.base_url} could not be reached; check "
            "OFSTED_QA_LLM__BASE_URL and that the server is running.",
        )
    if isinstance(exc, openai.APIStatusError):
        return GenerationFailed("error", f"The LLM endpoint answered {exc.status_code}: {str(exc)[:200]}.")
    return GenerationFailed("error", f"The LLM call failed ({type(exc).__name__}: {str(exc)[:200]}).")


def stream_answer(
    model: BaseChatModel, settings: LlmSettings, paragraphs: str, question: str, labels: list[str]
) -> Iterator[LlmSentence]:
    """Yield each sentence of the model's answer as soon as it is complete; raise GenerationFailed when the
    whole output, once read, is not a valid answer, or the model takes longer than its time-out."""
    fmt = response_format(settings, labels)
    extra: dict[str, Any] = {} if fmt is None else {"response_format": fmt}
    if settings.response_format == "json_object":
        extra["max_tokens"] = settings.max_tokens  # llama.cpp's server reads max_tokens, not max_completion_tokens
    # in extra_body, not as LangChain's response_format, which would send it through the OpenAI client's beta
    # parsing helpers: the output is parsed and validated here, the same way for every endpoint
    bound = model.bind(extra_body=extra) if extra else model
    chain = answer_prompt(settings.prompt_version) | bound
    deadline = time.monotonic() + settings.timeout_s
    text, sent, finish = "", 0, ""
    try:
        for chunk in chain.stream({"paragraphs": paragraphs, "question": question}):
            text += chunk.content if isinstance(chunk.content, str) else ""
            finish = chunk.response_metadata.get("finish_reason") or finish
            if time.monotonic() > deadline:
                raise TimeoutError
            done = complete_sentences(text)
            for item in done[sent:]:
                try:
                    yield LlmSentence.model_validate(item)
                except ValidationError:
                    break  # reported with the whole output below
                sent += 1
    except Exception as exc:  # an optional remote component: every failure falls back, none is a 500
        failure = _classify(exc, settings)
        if failure.kind == "error":
            log.warning("LLM call failed: %s", failure.detail)
        raise failure from exc
    try:
        answer = parse_answer(text)
    except GenerationFailed as exc:
        if finish == "length" and exc.kind == "malformed":
            raise GenerationFailed(
                "malformed",
                f"The model's output was cut off at {settings.max_tokens} tokens (OFSTED_QA_LLM__MAX_TOKENS) before "
                "its JSON was complete.",
            ) from exc
        raise
    yield from answer.sentences[sent:]


def history_text(history: list[Turn], max_chars: int = 600) -> str:
    """Return the conversation as the condense prompt reads it: each turn's question and the start of its answer."""
    lines = []
    for turn in history:
        lines.append(f"Question: {turn.question}")
        if turn.answer:
            lines.append(f"Answer: {turn.answer[:max_chars]}")
    return "\n".join(lines)


def condense_question(
    model: BaseChatModel, settings: LlmSettings, question: str, history: list[Turn], max_chars: int
) -> str:
    """Return the follow-up rewritten as one standalone question, or raise GenerationFailed when the model's
    reply is not one (empty, several lines, over `max_chars`, or a refusal)."""
    chain = condense_prompt(settings.prompt_version) | model
    try:
        reply = chain.invoke({"history": history_text(history), "question": question})
    except Exception as exc:  # the rule-based follow-up handling takes over
        raise _classify(exc, settings) from exc
    text = reply.content.strip() if isinstance(reply.content, str) else ""
    text = re.sub(r"^(?:standalone question|rewritten question|question)\s*:\s*", "", text, flags=re.I).strip(' "')
    if not text or "\n" in text or len(text) > max_chars or _DECLINES.search(text):
        raise GenerationFailed("malformed", f"The model's standalone question is unusable: {text[:160]!r}.")
    return text
