"""The chat page in a real headless Chromium (Debian's, launched by path) against a real server on loopback."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.conftest import DATA, LiveServer

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
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


@pytest.fixture()
def page(browser, live_server: str):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    pg = context.new_page()
    pg.requests = []  # every URL the page asked for
    pg.on("request", lambda r: pg.requests.append(r.url))
    pg.errors = []
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    yield pg
    context.close()


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
