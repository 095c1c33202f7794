"""Quality gate: ofsted-qa on the whole curated set must stay above the floors in eval/thresholds.json."""

from __future__ import annotations

import json
from pathlib import Path

from eval.dataset import DEFAULT_SET, load_questions
from eval.run import run_system, summarise
from eval.systems import ofsted_qa

THRESHOLDS = Path(__file__).resolve().parent.parent / "eval" / "thresholds.json"


def test_quality_stays_above_the_floors(engine) -> None:  # type: ignore[no-untyped-def]
    floors = json.loads(THRESHOLDS.read_text())
    questions = load_questions(DEFAULT_SET)
    records = run_system("ofsted-qa", ofsted_qa(engine), questions, engine.index.aliases)
    summary = summarise(records)
    measured = {
        k: summary[k]["value"] for k in ("hit_rate", "citation_precision", "refusal_accuracy", "false_refusals")
    }
    assert measured["hit_rate"] >= floors["hit_rate"], measured
    assert measured["citation_precision"] >= floors["citation_precision"], measured
    assert measured["refusal_accuracy"] >= floors["refusal_accuracy"], measured
    assert measured["false_refusals"] <= floors["false_refusals_max"], measured
