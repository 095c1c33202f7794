"""Request limits against a real server: question, history, body size, rerank cap, rate limits, feedback."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from api.engine import Engine
from api.limits import RateLimiter, TokenBucket, cap_rerank
from indexer.settings import ApiSettings
from tests.conftest import LiveServer, engine_with

QUESTION = "How were the experiences and progress of care leavers judged?"


@pytest.fixture()
def strict(engine: Engine, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A server with tight rate limits and a small feedback file."""
    eng = engine_with(
        engine,
        tmp_path,
        rate_limit_per_minute=60,
        rate_limit_burst=5,
        feedback_max_bytes=2048,
        api_keys=[SecretStr("another-client"), SecretStr("k2")],
    )
    with LiveServer(eng, eng.settings) as server:
        yield server.url, eng


def test_history_over_the_turn_limit_is_refused_saying_which_setting(live_server: str) -> None:
    history = [{"question": "What needs to improve?", "answer": "a"}] * 11
    r = httpx.post(f"{live_server}/ask", json={"question": QUESTION, "history": history}, timeout=30)
    assert r.status_code == 422
    assert r.json()["detail"].startswith("History has 11 turns; the limit is 10 (OFSTED_QA_API__MAX_HISTORY_TURNS)")


def test_last_turns_question_cannot_bypass_the_question_limit(live_server: str) -> None:
    history = [{"question": "x" * 2001, "answer": ""}]
    r = httpx.post(f"{live_server}/ask", json={"question": QUESTION, "history": history}, timeout=30)
    assert r.status_code == 422
    assert "History turn 0 has a question of 2,001 characters; the limit is 2,000" in r.json()["detail"]


def test_history_characters_are_capped(live_server: str) -> None:
    history = [{"question": "What needs to improve?", "answer": "y" * 9_000}] * 3
    r = httpx.post(f"{live_server}/ask", json={"question": QUESTION, "history": history}, timeout=30)
    assert r.status_code == 422
    assert "History is 27,066 characters; the limit is 20,000 (OFSTED_QA_API__MAX_HISTORY_CHARS)" in r.json()["detail"]


def test_two_megabyte_history_gets_413_before_it_is_read(live_server: str) -> None:
    history = [{"question": "q", "answer": "z" * 100_000}] * 20
    r = httpx.post(f"{live_server}/ask", json={"question": QUESTION, "history": history}, timeout=30)
    assert r.status_code == 413
    assert r.json()["detail"].startswith("Request body is larger than 262,144 bytes (OFSTED_QA_API__MAX_BODY_BYTES)")


def test_streamed_body_without_length_is_counted_and_refused(live_server: str) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"question": "'
        for _ in range(400):
            yield b"a" * 1024
        yield b'"}'

    r = httpx.post(f"{live_server}/ask", content=chunks(), headers={"content-type": "application/json"}, timeout=30)
    assert r.status_code == 413 and "MAX_BODY_BYTES" in r.json()["detail"]


def test_client_rerank_request_is_cut_to_the_server_cap(live_server: str) -> None:
    assert cap_rerank(50, ApiSettings(max_rerank_candidates=8)) == 8
    assert cap_rerank(3, ApiSettings(max_rerank_candidates=8)) == 3 and cap_rerank(None, ApiSettings()) is None
    for asked, read in ((50, 8), (3, 3)):
        body = httpx.post(
            f"{live_server}/ask",
            json={
                "question": "What did inspectors say about children missing from education?",
                "rerank_candidates": asked,
                "debug": True,
            },
            timeout=60,
        ).json()
        retrieve = next(step for step in body["trace"] if step["stage"] == "retrieve")
        assert retrieve["decision"].endswith(f", {read} to rerank")


def test_token_bucket_refills_at_its_rate() -> None:
    bucket = TokenBucket(rate=1.0, burst=2, now=0.0)
    assert bucket.take(0.0) == 0.0 and bucket.take(0.0) == 0.0
    assert bucket.take(0.0) == pytest.approx(1.0)
    assert bucket.take(0.5) == pytest.approx(0.5) and bucket.take(1.0) == 0.0
    limiter = RateLimiter(per_minute=60, burst=1, max_clients=2)
    assert limiter.wait_s("a", 0.0) == 0.0 and limiter.wait_s("a", 0.0) > 0 and limiter.wait_s("b", 0.0) == 0.0


def test_rate_limit_answers_429_with_retry_after_per_client(strict) -> None:  # type: ignore[no-untyped-def]
    url, _ = strict
    payload = {"question": "q", "citation": {"document_id": "peterborough-ilacs-2023", "paragraph": "11"}}
    codes = [httpx.post(f"{url}/feedback", json=payload).status_code for _ in range(5)]
    assert codes == [200] * 5
    r = httpx.post(f"{url}/feedback", json=payload)
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert "the limit is 60 a minute with bursts of 5 (OFSTED_QA_API__RATE_LIMIT_PER_MINUTE)" in r.json()["detail"]
    other = httpx.post(f"{url}/feedback", json=payload, headers={"X-API-Key": "another-client"})
    assert other.status_code == 200  # keyed by API key when a valid one is sent
    invented = httpx.post(f"{url}/feedback", json=payload, headers={"X-API-Key": "made-up"})
    assert invented.status_code == 429  # an invented key is not a new client
    assert httpx.get(f"{url}/coverage").status_code == 200  # reads are not rate limited


def test_a_burst_of_1000_questions_gets_answers_then_429s_and_no_errors(strict) -> None:  # type: ignore[no-untyped-def]
    url, _ = strict

    async def burst() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
            return await asyncio.gather(*(client.post("/ask", json={"question": QUESTION}) for _ in range(1000)))

    responses = asyncio.run(burst())
    codes = [r.status_code for r in responses]
    assert set(codes) <= {200, 429}
    assert 5 <= codes.count(200) <= 5 + 60  # the burst, plus what refills at 1 a second while it runs
    assert all(r.headers["retry-after"].isdigit() for r in responses if r.status_code == 429)


def test_feedback_stores_a_hash_not_the_question_and_rotates(strict) -> None:  # type: ignore[no-untyped-def]
    url, eng = strict
    payload = {
        "question": "Is my neighbour's child on a plan?",
        "answer": "secret answer",
        "citation": {"document_id": "peterborough-ilacs-2023", "paragraph": "11"},
        "verdict": "wrong_citation",
    }
    for _ in range(5):
        assert httpx.post(f"{url}/feedback", json=payload).status_code == 200
    path = eng.settings.api.feedback_path
    record = json.loads(path.read_text().splitlines()[-1])
    assert set(record) == {"at", "verdict", "citation", "question_sha256"}
    assert "neighbour" not in path.read_text() and "secret" not in path.read_text()
    assert record["citation"] == payload["citation"] and len(record["question_sha256"]) == 64
    # 5 records of ~190 bytes with a 2,048-byte cap: one file; keep writing past the cap and it rotates
    eng.settings.api.feedback_max_bytes = 1024
    for _ in range(3):
        assert httpx.post(f"{url}/feedback", json=payload, headers={"X-API-Key": "k2"}).status_code == 200
    assert path.with_name("feedback.jsonl.1").exists() and path.stat().st_size <= 1024


def test_feedback_keeps_text_only_when_questions_are_logged(engine: Engine, tmp_path: Path) -> None:
    eng = engine_with(engine, tmp_path, log_questions=True)
    payload = {"question": "q text", "answer": "a text", "citation": {"document_id": "d", "paragraph": "1"}}
    with LiveServer(eng, eng.settings) as server:
        assert httpx.post(f"{server.url}/feedback", json=payload).status_code == 200
    record = json.loads(eng.settings.api.feedback_path.read_text())
    assert record["question"] == "q text" and record["answer"] == "a text"


def test_oversized_feedback_fields_are_refused(live_server: str) -> None:
    payload = {"question": "q" * 20_001, "citation": {"document_id": "d", "paragraph": "1"}}
    r = httpx.post(f"{live_server}/feedback", json=payload)
    assert r.status_code == 422 and "question: String should have at most 20000 characters" in r.json()["detail"]
