"""Follow-up questions: resolved from the conversation without an LLM, scored on the curated conversations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.engine import Engine
from api.followup import is_followup, resolve_followup
from eval.dataset import load_questions
from eval.run import run_system, summarise
from eval.systems import ofsted_qa
from indexer.models import CitationRef, Turn
from tests.conftest import DATA, make_settings

CONVERSATIONS = Path(__file__).resolve().parent.parent / "eval" / "conversations.jsonl"
THRESHOLDS = Path(__file__).resolve().parent.parent / "eval" / "thresholds.json"
EDT = Turn(
    question="What did the 2025 monitoring visit say about the emergency duty team in Peterborough?",
    answer="The commissioned emergency duty team (EDT) is too limited.",
    citations=[CitationRef(document_id="peterborough-monitoring-visit-2025", paragraph="p19")],
)


@pytest.mark.parametrize(
    ("question", "followup"),
    [
        ("Why?", True),
        ("And what about care leavers?", True),
        ("And in Camden?", True),
        ("Is that better than in 2023?", True),
        ("How well are care leavers supported into education, employment and training in Peterborough?", False),
        ("What did inspectors say about the MASH?", False),
    ],
)
def test_followups_are_recognised(question: str, followup: bool) -> None:
    assert is_followup(question) is followup


def test_a_followup_is_asked_with_the_previous_question_and_carries_its_citations() -> None:
    resolved = resolve_followup("Why?", [EDT])
    assert resolved.followup and resolved.question == f"{EDT.question} Why?"
    assert resolved.carried == [("peterborough-monitoring-visit-2025", "p19")]


def test_switching_authority_keeps_the_topic_and_drops_the_place_and_year() -> None:
    resolved = resolve_followup("And in Camden?", [EDT])
    assert "Peterborough" not in resolved.question and "2025 monitoring visit" not in resolved.question
    assert "emergency duty team" in resolved.question and resolved.question.endswith("And in Camden?")
    assert resolved.carried == []  # another authority: the previous paragraphs are not candidates


def test_a_standalone_question_keeps_the_conversations_authority_only() -> None:
    resolved = resolve_followup("How are unaccompanied asylum-seeking children looked after?", [EDT])
    assert not resolved.followup and resolved.question.startswith("How are unaccompanied")
    assert resolved.authority == "Peterborough"
    assert resolve_followup("Why?", []).question == "Why?"


@pytest.fixture(scope="module")
def conversation_engine(tmp_path_factory: pytest.TempPathFactory, models) -> Engine:  # type: ignore[no-untyped-def]
    """The bundled reports plus Camden's 2023 focused visit and Brent's 2026 inspection (the set's four reports)."""
    settings = make_settings(tmp_path_factory.mktemp("conversations"))
    engine = Engine(settings, embedder=models[0], reranker=models[1])
    paths = [
        settings.index.corpus_dir,
        DATA / "camden-focused-visit-2023-12-05.pdf",
        DATA / "brent-inspection-2026-06-17.pdf",
    ]
    engine.build(paths, keep_existing=False)
    return engine


def test_conversations_score_above_the_floor_and_far_above_ignoring_history(conversation_engine: Engine) -> None:
    floors = json.loads(THRESHOLDS.read_text())["conversations"]
    questions = load_questions(CONVERSATIONS)
    assert len(questions) >= 20 and all(q.history for q in questions)
    aliases = conversation_engine.require_index().aliases
    with_history = summarise(run_system("ofsted-qa", ofsted_qa(conversation_engine), questions, aliases))
    without = summarise(run_system("no-history", ofsted_qa(conversation_engine, use_history=False), questions, aliases))
    assert with_history["hit_rate"]["value"] >= floors["hit_rate"], with_history["hit_rate"]
    assert with_history["hit_rate"]["value"] >= without["hit_rate"]["value"] + 0.3
