"""The chat page in a real headless Chromium (Debian's, launched by path) against a real server on loopback."""

from __future__ import annotations

import http.server
import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from eval.bench import CHROMIUM_ARGS as ARGS
from tests.conftest import DATA, LiveServer, free_port

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make install` installs Debian's chromium package")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def recorded_page(browser) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A new page that records every URL it asks for and every script error."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    pg = context.new_page()
    pg.requests = []  # every URL the page asked for
    pg.on("request", lambda r: pg.requests.append(r.url))
    pg.errors = []
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    yield pg
    context.close()


@pytest.fixture()
def page(browser, live_server: str):  # type: ignore[no-untyped-def]
    yield from recorded_page(browser)


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def ask(page, question: str) -> object:  # type: ignore[no-untyped-def]
    page.fill("#question", question)
    page.click("#ask")
    answer = page.locator(".answer[data-done='true']").last
    answer.wait_for(timeout=30_000)
    return answer


def only_own_origin(page, base: str) -> None:  # type: ignore[no-untyped-def]
    own = urlparse(base).netloc
    foreign = [u for u in page.requests if not u.startswith("data:") and urlparse(u).netloc != own]
    assert foreign == []


def test_question_streams_sentences_with_chips_that_open_the_paragraph(page, live_server: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(live_server + "/")
    assert "Do not enter children's names" in page.inner_text("#privacy-notice")
    answer = ask(page, "What did the 2025 monitoring visit say about the emergency duty team?")
    assert answer.get_attribute("data-answerable") == "true"
    chips = answer.locator(".sentence-wrap .chip, .sentence .chip, .chip:not(.chip-related)")
    assert chips.count() >= 1
    labels = [chips.nth(i).inner_text() for i in range(chips.count())]
    assert any(label.startswith("Peterborough monitoring visit, Jan 2025, para p19") for label in labels), labels
    shot(page, "answer")
    chip = answer.locator(".chip[data-paragraph='p19']").first
    chip.click()
    dialog = page.locator("#paragraph-dialog")
    dialog.wait_for(state="visible")
    assert page.inner_text("#paragraph-text").startswith("The commissioned emergency duty team (EDT) is too limited")
    assert page.get_attribute("#paragraph-link", "href").endswith(
        "/reports/peterborough-monitoring-visit-2025/paragraphs/p19"
    )
    shot(page, "paragraph")
    page.keyboard.press("Escape")
    only_own_origin(page, live_server)
    assert page.errors == []


def test_refusal_lists_related_paragraphs_apart(page, live_server: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(live_server + "/")
    answer = ask(page, "What time does the council's swimming pool open?")
    assert answer.get_attribute("data-answerable") == "false"
    assert "do not cover this question" in answer.inner_text()
    assert "Related, but not an answer" in answer.locator(".closest").inner_text()
    shot(page, "refusal")
    only_own_origin(page, live_server)


def test_too_long_question_shows_a_clear_error(page, live_server: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(live_server + "/")
    page.evaluate("document.querySelector('#question').removeAttribute('maxlength')")
    page.fill("#question", "why " * 600)
    page.click("#ask")
    error = page.locator(".error").last
    error.wait_for(timeout=30_000)
    assert "the limit is 2,000" in error.inner_text()
    shot(page, "error")


def test_report_text_is_inserted_as_text_never_html(browser, fresh_settings, models) -> None:  # type: ignore[no-untyped-def]
    from api.engine import Engine

    reports = fresh_settings.index.dir.parent / "reports"
    reports.mkdir()
    shutil.copy(DATA / "fictional-xss-report.txt", reports)
    engine = Engine(fresh_settings, embedder=models[0], reranker=models[1])
    engine.build([reports], keep_existing=False)
    with LiveServer(engine, fresh_settings) as server:
        context = browser.new_context()
        pg = context.new_page()
        dialogs: list[str] = []
        pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        pg.goto(server.url + "/")
        answer = ask(pg, "What is the kite-flying club for children in care?")
        text = answer.inner_text()
        assert "<img src=x onerror=" in text and "<script>" in text
        assert pg.evaluate("window.__xss === undefined")
        assert pg.locator("#messages img").count() == 0 and pg.locator("#messages script").count() == 0
        shot(pg, "xss")
        assert dialogs == []
        context.close()


@pytest.fixture()
def history_page(browser, history_server: str):  # type: ignore[no-untyped-def]
    yield from recorded_page(browser)


def test_chip_opens_the_paragraph_and_the_pdf_at_its_page(history_page, history_server: str) -> None:  # type: ignore[no-untyped-def]
    page = history_page
    page.goto(history_server + "/")
    answer = ask(page, "What did the 2018 inspection say about private fostering in Peterborough?")
    assert answer.get_attribute("data-answerable") == "true"
    chip = answer.locator(".chip:not(.chip-related)").first
    label = chip.inner_text()
    assert label.startswith("Peterborough inspection, ") and ", para " in label
    chip.click()
    page.locator("#paragraph-dialog").wait_for(state="visible")
    pdf = page.get_attribute("#pdf-link", "href")
    assert pdf is not None and "/pdf#page=" in pdf and page.is_visible("#pdf-link")
    response = page.request.get(pdf.split("#")[0])
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    assert response.body()[:5] == b"%PDF-"
    shot(page, "pdf-link")
    only_own_origin(page, history_server)


def test_findings_view_groups_reports_oldest_first_with_chips(history_page, history_server: str) -> None:  # type: ignore[no-untyped-def]
    page = history_page
    page.goto(history_server + "/")
    page.click("#tab-findings")
    page.click("#filters summary")
    page.fill("#filter-authority", "Peterborough")
    page.fill("#topic", "private fostering")
    page.click("#findings-submit")
    group = page.locator("#findings-results .finding-group").first
    group.wait_for(timeout=30_000)
    assert group.locator("h3").inner_text() == "Peterborough"
    reports = group.locator("article.finding-report")
    assert reports.count() >= 2
    ids = [reports.nth(i).get_attribute("data-document-id") for i in range(reports.count())]
    years = [int(next(part for part in i.split("-") if part.isdigit() and len(part) == 4)) for i in ids]  # type: ignore[union-attr]
    assert years == sorted(years), ids
    assert reports.first.locator(".chip").count() >= 1 and reports.first.locator(".summary").inner_text()
    shot(page, "findings")
    reports.first.locator(".chip").first.click()
    page.locator("#paragraph-dialog").wait_for(state="visible")
    assert "fostering" in page.inner_text("#paragraph-text").lower()
    only_own_origin(page, history_server)
    assert page.errors == []


def test_a_follow_up_is_sent_with_the_conversation_and_answered(page, live_server: str) -> None:  # type: ignore[no-untyped-def]
    bodies: list[str] = []
    page.on("request", lambda r: bodies.append(r.post_data or "") if r.url.endswith("/ask/stream") else None)
    page.goto(live_server + "/")
    first = ask(page, "What did the 2025 monitoring visit say about the emergency duty team?")
    assert first.get_attribute("data-answerable") == "true"
    second = ask(page, "Why?")
    assert second.get_attribute("data-answerable") == "true"
    assert second.locator(".chip:not(.chip-related)").count() >= 1
    sent = json.loads(bodies[-1])
    assert sent["question"] == "Why?"
    assert sent["history"][0]["question"].startswith("What did the 2025 monitoring visit")
    assert {"document_id": "peterborough-monitoring-visit-2025", "paragraph": "p19"} in sent["history"][0]["citations"]
    shot(page, "follow-up")
    only_own_origin(page, live_server)


def test_glossary_term_shows_its_meaning_on_focus_and_feedback_is_recorded(page, live_server: str, engine) -> None:  # type: ignore[no-untyped-def]
    page.goto(live_server + "/")
    answer = ask(page, "What did the 2025 monitoring visit say about the emergency duty team?")
    term = answer.locator(".term").first
    term.focus()
    tip = page.locator("#glossary-tip")
    tip.wait_for(state="visible")
    assert ":" in tip.inner_text() and len(tip.inner_text()) > 20
    shot(page, "glossary")
    feedback = engine.settings.api.feedback_path
    before = feedback.read_text().count("\n") if feedback.exists() else 0
    answer.locator("button.feedback").first.click()
    page.locator("button.feedback[data-state='sent']").first.wait_for(timeout=10_000)
    lines = feedback.read_text().splitlines()
    assert len(lines) == before + 1
    assert json.loads(lines[-1])["verdict"] == "wrong_citation"


def test_keyboard_only_on_a_phone_width_screen(browser, live_server: str) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 375, "height": 740})
    page = context.new_page()
    page.goto(live_server + "/")
    page.focus("#question")
    page.keyboard.type("How were care leavers judged?")
    page.keyboard.press("Enter")
    answer = page.locator(".answer[data-done='true']").last
    answer.wait_for(timeout=30_000)
    chip = answer.locator(".chip:not(.chip-related)").first
    chip.focus()
    page.keyboard.press("Enter")
    page.locator("#paragraph-dialog").wait_for(state="visible")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    shot(page, "phone")
    page.keyboard.press("Escape")
    page.locator("#paragraph-dialog").wait_for(state="hidden")
    assert page.locator("#question").get_attribute("aria-label") or page.locator("label[for='question']").count()
    context.close()


class _HostPage(http.server.SimpleHTTPRequestHandler):
    """A second origin: an 'intranet' page that embeds the widget with one script tag."""

    api = ""

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        # the shipped example page, with its one script tag pointed at the API server as the README says
        page = (Path(__file__).resolve().parent.parent / "api" / "static" / "example-host.html").read_text()
        tag = '<script src="/widget.js" data-api="http://127.0.0.1:8000"></script>'
        assert tag in page
        body = page.replace(tag, f'<script src="{self.api}/widget.js" data-api="{self.api}"></script>').encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_widget_embedded_on_a_page_of_another_origin(browser, live_server: str) -> None:  # type: ignore[no-untyped-def]
    handler = type("Host", (_HostPage,), {"api": live_server})
    host = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=host.serve_forever, daemon=True).start()
    host_url = f"http://127.0.0.1:{host.server_address[1]}"
    try:
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        page = context.new_page()
        requests: list[str] = []
        context.on("request", lambda r: requests.append(r.url))
        page.goto(host_url + "/")
        page.click("#ofsted-qa-launcher")
        frame = page.frame_locator("#ofsted-qa-panel iframe")
        frame.locator("#question").fill("How were care leavers judged?")
        frame.locator("#ask").click()
        answer = frame.locator(".answer[data-done='true']").last
        answer.wait_for(timeout=30_000)
        assert answer.get_attribute("data-answerable") == "true"
        assert frame.locator(".chip").count() >= 1
        shot(page, "widget")
        origins = {urlparse(u).netloc for u in requests if not u.startswith("data:")}
        assert origins == {urlparse(host_url).netloc, urlparse(live_server).netloc}, origins
        context.close()
    finally:
        host.shutdown()


def test_earlier_reports_are_shown_after_the_answer_marked_as_history(history_page, history_server: str) -> None:  # type: ignore[no-untyped-def]
    import httpx

    questions = [
        # asked of every report ('over the years'): an untimed question is about the current position only
        "What have inspectors said about the emergency duty team in Peterborough over the years?",
        "How well have personal advisers supported care leavers in Peterborough over time?",
        "What have inspectors ever found about private fostering in Peterborough?",
    ]
    with httpx.Client(base_url=history_server, timeout=60) as client:
        bodies = [client.post("/ask", json={"question": q}).json() for q in questions]
    question, body = next((q, b) for q, b in zip(questions, bodies, strict=True) if b["earlier"])
    page = history_page
    page.goto(history_server + "/")
    answer = ask(page, question)
    wraps = answer.locator(".sentence-wrap")
    shown = [("earlier" in (wraps.nth(i).get_attribute("class") or "")) for i in range(wraps.count())]
    # the current position first, then each earlier report's sentence, tagged and with its own chip
    assert shown == [False] * len(body["sentences"]) + [True] * len(body["earlier"])
    assert answer.locator(".earlier-tag").count() == len(body["earlier"])
    for i in range(len(body["sentences"]), len(shown)):
        assert wraps.nth(i).locator("button, a").count() >= 1
    shot(page, "earlier-reports")
    assert page.errors == []
    only_own_origin(page, history_server)
