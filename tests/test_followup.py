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
    assert resolved.question == "What did the report say about the emergency duty team in Camden?"
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


def test_a_follow_up_naming_only_another_authority_asks_the_same_question_of_it() -> None:
    previous = [Turn(question="Are care leavers in Anytown's neighbour Luton given a personal adviser early?")]
    asked = resolve_followup("And in Camden?", previous)
    assert asked.followup
    assert asked.question == "Are care leavers in Anytown's neighbour Camden given a personal adviser early?"
    asked = resolve_followup(
        "Is Camden's any better?", [Turn(question="What did Luton's visit say about supervision?")]
    )
    assert asked.question == "What did Camden's visit say about supervision?"
    # a topic of its own stays beside the previous question, the other authority's name taken out
    asked = resolve_followup("And Camden's care leavers?", [Turn(question="What did Luton say about supervision?")])
    assert "Luton" not in asked.question and asked.question.endswith("And Camden's care leavers?")


def test_since_then_names_the_report_the_conversation_named() -> None:
    history = [Turn(question="At the 2023 inspection, how quickly were contacts dealt with in Luton?")]
    asked = resolve_followup("Has the front door got better since then?", history)
    assert asked.question == "Has the front door got better since the 2023 inspection?"
    assert asked.authority == "Luton"
    swapped = resolve_followup("What about Camden?", history)
    assert swapped.question == "how quickly were contacts dealt with in Camden?"  # Luton's report year dropped
