"""HTTP API against a real uvicorn server on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.conftest import PDF_INSPECTION, LiveServer


def test_health(live_server: str) -> None:
    body = httpx.get(f"{live_server}/health").json()
    assert body["status"] == "ok" and body["reports"] == 2 and body["paragraphs"] == 85


def test_ask_returns_cited_answer(live_server: str) -> None:
    r = httpx.post(
        f"{live_server}/ask",
        json={"question": "How were the experiences and progress of care leavers judged?"},
        timeout=30,
    )
    assert r.status_code == 200
    body = r.json()
    assert set(body) >= {"answer", "answerable", "sentences", "citations", "closest", "timings_ms"}
    citation = body["citations"][0]
    assert citation["document_id"] == "peterborough-ilacs-2023" and citation["paragraph"] == "judgements"
    assert citation["local_authority"] == "Peterborough" and citation["kind"] == "inspection"
    assert citation["inspection_dates"] == ["2023-11-27", "2023-12-08"]
    assert "The experiences and progress of care leavers: Inadequate" in citation["text"]
    assert body["sentences"][0]["citations"] == [0]


def test_ask_refusal_has_no_citations(live_server: str) -> None:
    body = httpx.post(
        f"{live_server}/ask", json={"question": "What time does the council's swimming pool open?"}, timeout=30
    ).json()
    assert body["answerable"] is False and body["citations"] == [] and len(body["closest"]) == 3


@pytest.mark.parametrize(
    ("payload", "detail"),
    [
        ({"question": "x" * 50_000}, "Question is 50,000 characters; the limit is 2,000"),
        ({"question": "   "}, "The question is empty"),
        ({"question": ""}, "Invalid request: question: String should have at least 1 character"),
        ({}, "Invalid request: question: Field required"),
        (
            {"question": "q", "filters": {"kind": "x", "colour": "red"}},
            "filters.colour: Extra inputs are not permitted",
        ),
    ],
)
def test_bad_questions_get_422_saying_what_to_change(live_server: str, payload: dict, detail: str) -> None:  # type: ignore[type-arg]
    r = httpx.post(f"{live_server}/ask", json=payload, timeout=30)
    assert r.status_code == 422
    assert detail in r.json()["detail"]


def test_stream_sends_one_event_per_sentence_then_done(live_server: str) -> None:
    with httpx.stream(
        "POST", f"{live_server}/ask/stream", json={"question": "What needs to improve?"}, timeout=30
    ) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        text = "".join(r.iter_text())
    events = [block for block in text.strip().split("\n\n") if block]
    parsed = [
        (e.split("\n")[0].removeprefix("event: "), json.loads(e.split("\n")[1].removeprefix("data: "))) for e in events
    ]
    kinds = [k for k, _ in parsed]
    assert kinds == ["sentence"] * 8 + ["done"]
    done = parsed[-1][1]
    for i, (_, data) in enumerate(parsed[:-1]):
        assert data["index"] == i
        assert data["text"] == done["sentences"][i]["text"]
        assert [c["paragraph"] for c in data["citations"]] == [
            done["citations"][j]["paragraph"] for j in done["sentences"][i]["citations"]
        ]


def test_reports_list_and_detail(live_server: str) -> None:
    reports = httpx.get(f"{live_server}/reports").json()
    assert [r["document_id"] for r in reports] == ["peterborough-ilacs-2023", "peterborough-monitoring-visit-2025"]
    detail = httpx.get(f"{live_server}/reports/peterborough-ilacs-2023").json()
    assert detail["judgements"]["care_leavers"] == "Inadequate"
    assert detail["inspectors"] == ["Russel Breyer"]


def test_paragraph_endpoint_and_404s(live_server: str) -> None:
    body = httpx.get(f"{live_server}/reports/peterborough-ilacs-2023/paragraphs/11").json()
    assert body["text"].startswith("The circumstances of most children missing from education")
    missing = httpx.get(f"{live_server}/reports/peterborough-ilacs-2023/paragraphs/99")
    assert missing.status_code == 404
    assert "has no paragraph '99'" in missing.json()["detail"]
    unknown = httpx.get(f"{live_server}/reports/nowhere-2020")
    assert unknown.status_code == 404 and "No report 'nowhere-2020'" in unknown.json()["detail"]
    text_only = httpx.get(f"{live_server}/reports/peterborough-ilacs-2023/pdf")
    assert text_only.status_code == 404 and "indexed from text" in text_only.json()["detail"]


def test_coverage(live_server: str) -> None:
    body = httpx.get(f"{live_server}/coverage").json()
    assert body["authorities"] == ["Peterborough"]
    assert body["reports"] == 2 and body["earliest"] == "2023-11-27" and body["latest"] == "2025-01-22"


def test_feedback_is_appended_to_jsonl(live_server: str, engine) -> None:  # type: ignore[no-untyped-def]
    payload = {
        "question": "q",
        "answer": "a",
        "citation": {"document_id": "peterborough-ilacs-2023", "paragraph": "11"},
        "verdict": "wrong_citation",
    }
    assert httpx.post(f"{live_server}/feedback", json=payload).status_code == 200
    lines = engine.settings.api.feedback_path.read_text().splitlines()
    assert json.loads(lines[-1])["citation"] == payload["citation"]


def test_chat_page_and_widget_are_served_from_the_package(live_server: str) -> None:
    page = httpx.get(f"{live_server}/")
    assert page.status_code == 200 and "Open Government Licence" in page.text
    assert httpx.get(f"{live_server}/widget.js").status_code == 200
    assert "http" not in "".join(line for line in page.text.splitlines() if "<script" in line or "<link" in line)


def test_no_index_gives_503_saying_how_to_build(fresh_settings) -> None:  # type: ignore[no-untyped-def]
    from api.engine import Engine

    engine = Engine(fresh_settings)
    with LiveServer(engine, fresh_settings, build_default=False) as server:
        r = httpx.post(f"{server.url}/ask", json={"question": "How were care leavers judged?"}, timeout=60)
        assert r.status_code == 503
        assert "Build one with: ofsted-qa index" in r.json()["detail"]
        assert httpx.get(f"{server.url}/health").json()["status"] == "no index"


def test_pdf_is_served_and_citations_carry_pages(fresh_settings, models) -> None:  # type: ignore[no-untyped-def]
    from api.engine import Engine

    engine = Engine(fresh_settings, embedder=models[0], reranker=models[1])
    engine.build([PDF_INSPECTION], keep_existing=False)
    with LiveServer(engine, fresh_settings) as server:
        pdf = httpx.get(f"{server.url}/reports/peterborough-inspection-2024-01-30/pdf")
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        assert pdf.content == Path(PDF_INSPECTION).read_bytes()
        body = httpx.get(f"{server.url}/reports/peterborough-inspection-2024-01-30/paragraphs/11").json()
        assert body["page"] == 3 and body["pdf_url"] == "/reports/peterborough-inspection-2024-01-30/pdf#page=3"
