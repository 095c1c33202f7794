"""The grade-intent model: trained on our questions, reproducible, and read without a library model."""

from __future__ import annotations

import json
from pathlib import Path

from api.intent import GRADE_INTENT_MODEL, asks_grade_by_model, grade_intent_probability, intent_terms
from api.understand import about_grades


def test_terms_are_words_and_adjacent_pairs() -> None:
    assert intent_terms("What did Brum get?") == ["what", "did", "brum", "get", "what did", "did brum", "brum get"]


def test_everyday_grade_questions_no_rule_lists_are_read_as_grade_questions() -> None:
    for question in ("what did brum get overall from ofsted back in 2018?", "what did sefton get for leadership"):
        assert asks_grade_by_model(question) and about_grades(question)


def test_questions_about_practice_are_not_grade_questions() -> None:
    for question in (
        "do kids in care in salford get to see their brothers and sisters?",
        "are bolton's social workers drowning in work?",
        "what help do care leavers get with rent",
    ):
        assert grade_intent_probability(question) < 0.5
        assert not about_grades(question)


def test_training_reproduces_the_committed_model(tmp_path: Path) -> None:
    from training.train_intent import main

    committed = json.loads(GRADE_INTENT_MODEL.read_text())
    main(out=tmp_path / "model.json", c=committed["hyperparameters"]["C"], threshold=committed["threshold"])
    fresh = json.loads((tmp_path / "model.json").read_text())
    assert fresh["data_sha256"] == committed["data_sha256"]
    assert fresh["terms"].keys() == committed["terms"].keys()
    assert abs(fresh["intercept"] - committed["intercept"]) < 1e-6
    assert all(
        abs(fresh["terms"][t][1] - committed["terms"][t][1]) < 1e-5 for t in committed["terms"]
    )
