"""Operators' view: /metrics, /ready, request ids and JSON log lines without question text."""

from __future__ import annotations

import json
import logging
import re

import httpx

from api.observe import JsonFormatter, request_id
from tests.conftest import LiveServer

QUESTION = "What did inspectors say about children missing from education?"


def test_metrics_count_routes_stages_refusals_and_the_index(live_server: str) -> None:
    assert httpx.post(f"{live_server}/ask", json={"question": QUESTION}, timeout=60).json()["answerable"]
    refused = httpx.post(f"{live_server}/ask", json={"question": "When does the swimming pool open?"}, timeout=60)
    assert refused.json()["answerable"] is False
    httpx.get(f"{live_server}/reports/nowhere")
    text = httpx.get(f"{live_server}/metrics").text
    assert re.search(r'ofsted_qa_requests_total\{method="POST",route="/ask",status="200"\} [1-9]', text)
    assert re.search(r'ofsted_qa_requests_total\{method="GET",route="/reports/\{document_id\}",status="404"\}', text)
    assert re.search(r'ofsted_qa_request_seconds_count\{route="/ask"\} [1-9]', text)
    for stage in ("embed", "retrieve", "rerank"):
        assert re.search(rf'ofsted_qa_answer_stage_seconds_count\{{stage="{stage}"\}} [1-9]', text)
    assert re.search(r'ofsted_qa_answers_total\{outcome="refused"\} [1-9]', text)
    assert re.search(r'ofsted_qa_index_generation\{generation="gen-[^"]+"\} 1\.0', text)
    assert "ofsted_qa_index_reports 2.0" in text and "ofsted_qa_index_paragraphs 85.0" in text
    assert re.search(r'ofsted_qa_model_load_seconds\{model="reranker"\} \d', text)


def test_request_id_is_echoed_or_made(live_server: str) -> None:
    given = httpx.get(f"{live_server}/health", headers={"X-Request-ID": "trace-42"})
    assert given.headers["x-request-id"] == "trace-42"
    made = httpx.get(f"{live_server}/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])


def test_ready_names_the_generation(live_server: str, engine) -> None:  # type: ignore[no-untyped-def]
    r = httpx.get(f"{live_server}/ready")
    assert r.status_code == 200 and r.json()["generation"] == engine.index.path.name
    assert r.json()["detail"] == f"Serving index generation {engine.index.path.name}."


def test_ready_is_503_without_an_index_while_health_is_200(fresh_settings) -> None:  # type: ignore[no-untyped-def]
    from api.engine import Engine

    engine = Engine(fresh_settings)
    with LiveServer(engine, fresh_settings) as server:
        r = httpx.get(f"{server.url}/ready")
        assert r.status_code == 503 and r.json()["ready"] is False
        assert "Build one with: ofsted-qa index" in r.json()["detail"]
        assert httpx.get(f"{server.url}/health").status_code == 200


def test_json_log_lines_carry_the_request_id_and_fields() -> None:
    token = request_id.set("abc123")
    try:
        record = logging.LogRecord("ofsted_qa", logging.INFO, __file__, 1, "refused", None, None)
        record.timings_ms = {"embed": 4.2}
        line = json.loads(JsonFormatter().format(record))
    finally:
        request_id.reset(token)
    assert line["request_id"] == "abc123" and line["message"] == "refused"
    assert line["timings_ms"] == {"embed": 4.2} and line["level"] == "info"
