"""The chat page with the LLM answerer (a scripted OpenAI-compatible server): flagged sentences are marked, and
sentences withdrawn by a `fallback` event are never left on the page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from api.engine import Engine
from tests.conftest import LiveServer
from tests.scripted_llm import ScriptedLLM, reply
from tests.test_generate import FOUND, IMPROVED, NOT_EFFECTIVE, P2, QUESTION, llm_engine
from tests.test_web import ask, browser, recorded_page  # noqa: F401 (browser is a fixture)


@pytest.fixture(scope="module")
def scripted() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


@pytest.fixture()
def llm_page(browser, engine: Engine, scripted: ScriptedLLM, tmp_path: Path):  # type: ignore[no-untyped-def]  # noqa: F811
    llm = llm_engine(engine, scripted.url, tmp_path, flag_unsupported=True)
    with LiveServer(llm, llm.settings) as server:
        for pg in recorded_page(browser):
            pg.goto(server.url)
            yield pg


def test_a_flagged_sentence_is_marked_on_the_page(llm_page, scripted: ScriptedLLM) -> None:  # type: ignore[no-untyped-def]
    wrong = NOT_EFFECTIVE.replace("August", "October")
    scripted.answer(reply((IMPROVED, [P2]), (wrong, [P2])))
    answer = ask(llm_page, QUESTION)
    assert answer.locator(".sentence").all_inner_texts() == [IMPROVED, wrong]  # type: ignore[attr-defined]
    flag = answer.locator(".unsupported-tag")  # type: ignore[attr-defined]
    assert flag.count() == 1 and flag.inner_text().strip() == "Not supported by the cited paragraphs:"
    assert "date: October" in flag.get_attribute("title")
    assert llm_page.errors == []


def test_sentences_withdrawn_by_a_fallback_leave_only_the_extractive_answer(llm_page, scripted: ScriptedLLM) -> None:  # type: ignore[no-untyped-def]
    scripted.answer('{"sentences": [{"text": "' + IMPROVED + '", "labels": ["' + P2 + '"]}, {"text": "Backlogs')
    answer = ask(llm_page, QUESTION)
    texts = answer.locator(".sentence").all_inner_texts()  # type: ignore[attr-defined]
    assert texts[0] == FOUND and IMPROVED not in texts
    assert answer.locator(".unsupported-tag").count() == 0  # type: ignore[attr-defined]
    assert llm_page.errors == []
