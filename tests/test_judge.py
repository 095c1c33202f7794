"""The judge: one learned answer-or-refuse decision over the fine-tuned cross-encoder's logits."""

from __future__ import annotations

import pytest

from api.judge import FEATURES, Judge, decide, features_of, fit_judge, probability


def test_features_read_the_best_logit_its_lead_and_how_many_pass() -> None:
    top, gap, top3, passing = features_of([-3.0, 5.0, 1.0, -9.0])
    assert (top, gap, passing) == (5.0, 4.0, 2.0)
    assert top3 == pytest.approx(1.0)
    assert features_of([]) == [-12.0, 12.0, -12.0, 0.0]  # nothing retrieved reads as a certain refusal


def test_fitted_judge_answers_a_clear_winner_and_refuses_a_flat_doubtful_field() -> None:
    clear = [{"logits": [6.0 + i % 3, -4.0, -6.0], "label": True} for i in range(30)]
    flat = [{"logits": [-4.0 - i % 3, -4.5, -5.0], "label": False} for i in range(30)]
    judge = Judge.model_validate(fit_judge(clear + flat))
    assert judge.features == list(FEATURES) and judge.rows == 60 and judge.positives == 30
    assert probability(judge, [7.0, -5.0, -6.0]) > 0.9
    assert probability(judge, [-4.2, -4.4, -5.1]) < 0.1
    verdict = decide(judge, [7.0, -5.0, -6.0], threshold=0.5)
    assert verdict.answer and verdict.threshold == 0.5 and verdict.features["top_logit"] == 7.0


def test_the_product_reranker_is_the_fine_tuned_one_with_its_judge(engine) -> None:  # type: ignore[no-untyped-def]
    judge_file = engine.reranker.judge_path()
    assert judge_file is not None and judge_file.name == "judge.json"
    assert "fine-tuned" in engine.reranker.name


def test_debug_trace_names_each_stage_and_the_judges_scores(engine) -> None:  # type: ignore[no-untyped-def]
    answer = engine.ask("How quickly do social workers see children after a referral?", debug=True)
    assert answer.trace is not None
    stages = [step.stage for step in answer.trace]
    assert stages[:4] == ["understand", "scope", "retrieve", "judge"]
    judged = next(step for step in answer.trace if step.stage == "judge")
    assert judged.rule == "learned judge" and {"probability", "threshold", "top_logit"} <= set(judged.scores)
    assert engine.ask("How quickly do social workers see children after a referral?").trace is None


def test_everyday_wording_is_answered_from_the_paragraph_that_says_it(engine) -> None:  # type: ignore[no-untyped-def]
    # paragraph 23 of the 2023 inspection: visits to children who live at a distance
    answer = engine.ask("Kids placed far outside the city: does their worker still go and see them?")
    assert answer.answerable
    assert [(c.document_id, c.paragraph) for c in answer.citations][0] == ("peterborough-ilacs-2023", "23")
